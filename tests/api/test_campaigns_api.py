"""Campaigns over HTTP: create, enroll, preview, dry run, launch, pause/resume; 422s and tenancy."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from freezegun import freeze_time
from sqlalchemy.engine import Engine

from outreach.campaigns import materialize
from outreach.db import utcnow
from tests.campaigns.support import WHOLE_PLAN, book, outbox
from tests.factories import auth, create_clinic, create_key, create_patient

REMINDER = {
    "name": "Visit reminders",
    "kind": "reminder",
    "steps": [{"offset_minutes": -1440}, {"offset_minutes": -120}],
}


def test_create_enroll_preview_dry_run_launch_pause_resume(client: TestClient, engine: Engine) -> None:
    clinic = create_clinic(engine)
    headers = auth(create_key(engine, clinic))
    visit = datetime.now(UTC).replace(microsecond=0) + timedelta(days=5)
    patients = [create_patient(engine, clinic, language=lang) for lang in ("es", "zh-TW")]
    for patient in patients:
        book(engine, clinic, patient.id, visit)
    create_patient(engine, clinic, consent=None)

    created = client.post("/admin/campaigns", headers=headers, json=REMINDER)
    assert created.status_code == 201
    campaign = created.json()
    base = f"/admin/campaigns/{campaign['id']}"
    assert [s["template"] for s in campaign["steps"]] == ["appointment_reminder"] * 2

    enrolled = client.post(f"{base}/enroll", headers=headers, json={"all": True}).json()
    assert enrolled == {"enrolled": 2, "already_enrolled": 0, "excluded": {"consent_unknown": 1}}

    shown = client.post(
        f"{base}/preview", headers=headers, json={"patient_id": str(patients[1].id), "step": 2}
    )
    assert shown.json()["language"] == "zh-Hant"
    assert shown.json()["status"] == "scheduled"

    timeline = client.get(f"{base}/dry-run", headers=headers).json()
    assert timeline["scheduled"] == 4
    assert timeline["per_language"] == {"es": 2, "zh-Hant": 2}

    assert client.get(f"{base}/launch", headers=headers).status_code == 404  # no launch yet
    launched = client.post(f"{base}/launch", headers=headers)
    assert launched.status_code == 202
    assert (launched.json()["status"], launched.json()["rows_written"]) == ("queued", 0)
    assert client.post(f"{base}/launch", headers=headers).status_code == 409
    materialize.advance(engine=engine, campaign_id=uuid.UUID(campaign["id"]), now=utcnow(), ahead=WHOLE_PLAN)
    progress = client.get(f"{base}/launch", headers=headers).json()
    assert (progress["status"], progress["patients_planned"], progress["scheduled"]) == ("live", 2, 4)
    assert progress["excluded"] == {}
    assert len(outbox(engine, uuid.UUID(campaign["id"]))) == 4

    assert client.post(f"{base}/pause", headers=headers).json() == {"held": 4}
    assert client.get(base, headers=headers).json()["status"] == "paused"
    assert client.post(f"{base}/resume", headers=headers).json() == {"released": 4}


def test_placeholder_outside_the_allow_list_is_422_naming_it_and_the_language(
    client: TestClient, engine: Engine
) -> None:
    headers = auth(create_key(engine, create_clinic(engine)))
    bodies = {"en": "Hi {first_name}", "es": "Hola {first_name}, su {diagnosis}"}
    data = {**REMINDER, "steps": [{"offset_minutes": -60, "bodies": bodies}]}

    response = client.post("/admin/campaigns", headers=headers, json=data)

    assert response.status_code == 422
    (item,) = response.json()["detail"]
    assert item["field"] == "steps.0.bodies.es"
    assert "diagnosis" in item["reason"]
    assert "language es" in item["reason"]


def test_offset_that_can_never_fire_is_422(client: TestClient, engine: Engine) -> None:
    headers = auth(create_key(engine, create_clinic(engine)))
    response = client.post(
        "/admin/campaigns", headers=headers, json={**REMINDER, "steps": [{"offset_minutes": 30}]}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "steps.0"


def test_another_clinics_campaign_is_404_and_their_patients_cannot_be_enrolled(
    client: TestClient, engine: Engine
) -> None:
    mine, theirs = create_clinic(engine, name="Mine"), create_clinic(engine, name="Theirs")
    my_headers, their_headers = auth(create_key(engine, mine)), auth(create_key(engine, theirs))
    their_campaign = client.post("/admin/campaigns", headers=their_headers, json=REMINDER).json()
    my_campaign = client.post("/admin/campaigns", headers=my_headers, json=REMINDER).json()
    their_patient = create_patient(engine, theirs)

    assert client.get(f"/admin/campaigns/{their_campaign['id']}", headers=my_headers).status_code == 404
    assert (
        client.post(f"/admin/campaigns/{their_campaign['id']}/launch", headers=my_headers).status_code == 404
    )
    enrolled = client.post(
        f"/admin/campaigns/{my_campaign['id']}/enroll",
        headers=my_headers,
        json={"patient_ids": [str(their_patient.id)]},
    ).json()
    assert enrolled["enrolled"] == 0
    assert enrolled["excluded"] == {"not_found": 1}
    assert [c["id"] for c in client.get("/admin/campaigns", headers=my_headers).json()] == [my_campaign["id"]]


def test_enroll_needs_exactly_one_way_to_choose(client: TestClient, engine: Engine) -> None:
    headers = auth(create_key(engine, create_clinic(engine)))
    campaign = client.post("/admin/campaigns", headers=headers, json=REMINDER).json()
    response = client.post(
        f"/admin/campaigns/{campaign['id']}/enroll", headers=headers, json={"all": True, "language": "es"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "enroll"


def test_launch_at_a_frozen_moment_skips_past_sends_and_respects_quiet_hours(
    client: TestClient, engine: Engine
) -> None:
    clinic = create_clinic(engine, quiet_hours=(time(21, 0), time(8, 0)))
    headers = auth(create_key(engine, clinic))
    patient = create_patient(engine, clinic, language="en", timezone="America/Chicago")
    book(engine, clinic, patient.id, datetime(2026, 6, 3, 8, 30, tzinfo=ZoneInfo("America/Chicago")))
    steps = [{"offset_minutes": -4320}, {"offset_minutes": -1440}, {"offset_minutes": -60}]

    with freeze_time("2026-06-01T12:00:00Z"):
        campaign = client.post("/admin/campaigns", headers=headers, json={**REMINDER, "steps": steps}).json()
        client.post(f"/admin/campaigns/{campaign['id']}/enroll", headers=headers, json={"all": True})
        client.post(f"/admin/campaigns/{campaign['id']}/launch", headers=headers)
        materialize.advance(
            engine=engine, campaign_id=uuid.UUID(campaign["id"]), now=utcnow(), ahead=WHOLE_PLAN
        )
        launched = client.get(f"/admin/campaigns/{campaign['id']}/launch", headers=headers).json()

    assert launched["skipped"] == {"past": 1}
    assert launched["scheduled"] == 2
    sends = [
        r.send_at.astimezone(ZoneInfo("America/Chicago")) for r in outbox(engine, uuid.UUID(campaign["id"]))
    ]
    # -72 h is already past; -24 h is 08:30 on the 2nd; -1 h (07:30) is quiet, so it keeps at least its
    # notice: 20:45 the evening before, 15 minutes ahead of the quiet hours.
    assert [s.strftime("%m-%d %H:%M") for s in sends[1:]] == ["06-02 08:30", "06-02 20:45"]
