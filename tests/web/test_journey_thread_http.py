"""A silent journey's call task on the thread page, and the coordinator ending the check-ins from there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from outreach.clinics.models import Role
from outreach.journeys import follow
from outreach.journeys.models import JourneyStatus
from tests.factories import create_clinic, create_key, create_patient
from tests.journeys.support import discharge, journey_campaign, journeys, mark_sent, texts
from tests.web.conftest import csrf_of, sign_in

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_the_call_task_shows_and_the_check_ins_end_from_the_thread(
    web_client: TestClient, engine: Engine
) -> None:
    clinic = create_clinic(engine)
    journey_campaign(engine, clinic, now=NOW, no_reply_after=2)
    patient = create_patient(engine, clinic, timezone="UTC", language="en")
    discharge(engine, clinic, patient.id, NOW - timedelta(hours=1), now=NOW)
    (journey,) = journeys(engine, patient.id)
    rows = texts(engine, journey.id)
    for row in rows[:2]:
        mark_sent(engine, row.id, row.send_at)
    follow.run(engine=engine, now=rows[1].send_at + timedelta(days=2))
    sign_in(web_client, create_key(engine, clinic, Role.COORDINATOR))
    queue = web_client.get("/app/queue")
    thread_id = queue.text.split('id="row-')[1].split('"')[0]
    page = web_client.get(f"/app/threads/{thread_id}")
    assert "Call task:" in page.text
    assert "No reply to 2 check-ins in a row since discharge on 1 Jun 2026" in page.text
    done = web_client.post(
        f"/app/threads/{thread_id}/end-journeys", data={"csrf_token": csrf_of(page)}, follow_redirects=True
    )
    assert done.status_code == 200
    assert "Ended 1 check-in journey" in done.text
    assert journeys(engine, patient.id)[0].status == JourneyStatus.ENDED
    again = web_client.post(f"/app/threads/{thread_id}/end-journeys", data={"csrf_token": csrf_of(done)})
    assert again.status_code == 409
    assert "no running journey" in again.text
