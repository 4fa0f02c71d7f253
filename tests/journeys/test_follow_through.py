"""Follow-through: unanswered check-ins put a call task in the coordinator queue (once per silent streak),
an opt-out ends the journey, and a coordinator can end a patient's journeys from their thread."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach.campaigns import materialize
from outreach.campaigns.materialize import AHEAD
from outreach.clinics.models import Role
from outreach.db import session_scope
from outreach.inbox.models import InboundKind, InboundMessage, Priority, Thread, ThreadEvent
from outreach.journeys import follow
from outreach.journeys.models import JourneyAudit, JourneyStatus
from outreach.messaging.models import MessageStatus
from outreach.patients import service as patients
from outreach.patients.models import Patient
from tests.factories import auth, create_clinic, create_key, create_patient
from tests.journeys.support import discharge, journey_campaign, journeys, mark_sent, texts

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _call_tasks(engine: Engine) -> list[ThreadEvent]:
    with Session(engine) as session:
        query = select(ThreadEvent).where(ThreadEvent.kind == "call_task").order_by(col(ThreadEvent.at))
        return list(session.exec(query))


def _reply(engine: Engine, patient: Patient, at: datetime) -> None:
    with session_scope(engine) as session:
        session.add(
            InboundMessage(
                provider_sid=f"SM{at.timestamp():.0f}",
                clinic_id=patient.clinic_id,
                patient_id=patient.id,
                from_phone=patient.phone,
                to_phone="+12025550100",
                body="1",
                language="en",
                kind=InboundKind.CHECKIN_ANSWER,
                answer=1,
                received_at=at,
            )
        )


def _silent_patient(engine: Engine):  # type: ignore[no-untyped-def]
    clinic = create_clinic(engine)
    journey_campaign(engine, clinic, now=NOW, no_reply_after=2)
    patient = create_patient(engine, clinic, timezone="UTC", language="en")
    discharge(engine, clinic, patient.id, NOW - timedelta(hours=1), now=NOW)
    (journey,) = journeys(engine, patient.id)
    return clinic, patient, journey, texts(engine, journey.id)


def test_two_unanswered_check_ins_put_one_call_task_in_the_queue(engine: Engine) -> None:
    _, patient, _, rows = _silent_patient(engine)
    mark_sent(engine, rows[0].id, rows[0].send_at)
    assert follow.run(engine=engine, now=rows[0].send_at + timedelta(days=2))["escalated"] == 0
    mark_sent(engine, rows[1].id, rows[1].send_at)
    # the second check-in still has a day to be answered
    assert follow.run(engine=engine, now=rows[1].send_at + timedelta(hours=2))["escalated"] == 0
    assert follow.run(engine=engine, now=rows[1].send_at + timedelta(hours=25))["escalated"] == 1
    assert follow.run(engine=engine, now=rows[1].send_at + timedelta(hours=30))["escalated"] == 0
    (task,) = _call_tasks(engine)
    assert task.body == "No reply to 2 check-ins in a row since discharge on 1 Jun 2026: call the patient."
    with Session(engine) as session:
        thread = session.get_one(Thread, task.thread_id)
    assert (thread.patient_id, thread.kind, thread.priority) == (patient.id, "no_reply", Priority.HIGH)
    assert thread.status == "open"

    # an answer ends the silence; two more unanswered check-ins raise a second call task
    _reply(engine, patient, rows[1].send_at + timedelta(days=2))
    for row in rows[2:4]:
        mark_sent(engine, row.id, row.send_at)
    assert follow.run(engine=engine, now=rows[2].send_at + timedelta(days=2))["escalated"] == 0
    assert follow.run(engine=engine, now=rows[3].send_at + timedelta(days=2))["escalated"] == 1
    assert len(_call_tasks(engine)) == 2


def test_an_answered_check_in_raises_no_call_task(engine: Engine) -> None:
    _, patient, _, rows = _silent_patient(engine)
    mark_sent(engine, rows[0].id, rows[0].send_at)
    _reply(engine, patient, rows[0].send_at + timedelta(hours=3))
    mark_sent(engine, rows[1].id, rows[1].send_at)
    assert follow.run(engine=engine, now=rows[1].send_at + timedelta(days=3))["escalated"] == 0
    assert _call_tasks(engine) == []


def test_an_opt_out_ends_the_journey_and_no_window_writes_more(engine: Engine) -> None:
    clinic = create_clinic(engine)
    campaign = journey_campaign(engine, clinic, now=NOW, ahead=AHEAD)
    patient = create_patient(engine, clinic, timezone="UTC")
    discharge(engine, clinic, patient.id, NOW - timedelta(hours=1), now=NOW)
    with session_scope(engine) as session:
        patients.opt_out(session=session, patient=session.get_one(Patient, patient.id), source="sms", now=NOW)
    assert follow.run(engine=engine, now=NOW + timedelta(minutes=5))["ended"] == 1
    materialize.advance(engine=engine, campaign_id=campaign.id, now=NOW + timedelta(days=60))
    (journey,) = journeys(engine, patient.id)
    assert (journey.status, journey.end_reason) == (JourneyStatus.ENDED, "opted_out")
    assert all(r.status == MessageStatus.CANCELLED for r in texts(engine, journey.id, live=False))


def test_a_coordinator_ends_the_patients_journey_from_their_thread(
    engine: Engine, client: TestClient
) -> None:
    clinic, _, journey, rows = _silent_patient(engine)
    for row in rows[:2]:
        mark_sent(engine, row.id, row.send_at)
    follow.run(engine=engine, now=rows[1].send_at + timedelta(days=2))
    (task,) = _call_tasks(engine)
    other = create_clinic(engine, name="Other Clinic", phone="+12025550199")
    path = f"/coordinator/threads/{task.thread_id}/end-journeys"
    assert client.post(path, headers=auth(create_key(engine, other, Role.COORDINATOR))).status_code == 404
    key = create_key(engine, clinic, Role.COORDINATOR)
    response = client.post(path, headers=auth(key))
    assert response.status_code == 200, response.text
    assert response.json() == {"ended": 1}
    (ended,) = journeys(engine, journey.patient_id)
    assert (ended.status, ended.end_reason) == (JourneyStatus.ENDED, "ended_by_coordinator")
    assert [r.status for r in texts(engine, journey.id, live=False)] == [MessageStatus.SENT] * 2 + [
        MessageStatus.CANCELLED
    ] * 5
    with Session(engine) as session:
        audit = session.exec(select(JourneyAudit).where(JourneyAudit.action == "ended")).one()
    assert audit.key_id is not None
    assert audit.detail == "ended_by_coordinator"
    assert client.post(path, headers=auth(key)).status_code == 409
    detail = client.get(f"/coordinator/threads/{task.thread_id}", headers=auth(key))
    assert detail.status_code == 200, detail.text
    kinds = [entry["kind"] for entry in detail.json()["entries"]]
    assert "call_task" in kinds
    assert "journey_ended" in kinds
