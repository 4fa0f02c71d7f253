"""A journey campaign at a glance: running journeys by the step they wait for, outcomes by language with
small groups withheld."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from outreach.db import session_scope
from outreach.inbox.models import InboundKind, InboundMessage
from tests.factories import auth, create_clinic, create_key, create_patient
from tests.journeys.support import discharge, journey_campaign, journeys, mark_sent, texts

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_patients_by_step_and_outcomes_by_language(engine: Engine, client: TestClient) -> None:
    clinic = create_clinic(engine)
    campaign = journey_campaign(engine, clinic, now=NOW - timedelta(days=1))
    spanish = [create_patient(engine, clinic, timezone="UTC", language="es") for _ in range(12)]
    somali = [create_patient(engine, clinic, timezone="UTC", language="so") for _ in range(2)]
    for patient in spanish + somali:
        discharge(engine, clinic, patient.id, NOW - timedelta(hours=1), now=NOW)
    for patient in spanish[:3]:  # their 48-hour check-in went out: they now wait for the weekly one
        (journey,) = journeys(engine, patient.id)
        first = texts(engine, journey.id)[0]
        mark_sent(engine, first.id, first.send_at)
    with session_scope(engine) as session:
        for n, patient in enumerate(spanish[:11]):
            session.add(
                InboundMessage(
                    provider_sid=f"SMreport{n}",
                    clinic_id=clinic.id,
                    patient_id=patient.id,
                    from_phone=patient.phone,
                    to_phone=clinic.phone,
                    body="1",
                    language="es",
                    kind=InboundKind.CHECKIN_ANSWER,
                    answer=1,
                    received_at=NOW + timedelta(hours=50),
                )
            )
    response = client.get(
        f"/admin/campaigns/{campaign.id}/journeys", headers=auth(create_key(engine, clinic))
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "active": 14,
        "waiting_for_step": {"1": 11, "2": 3},
        "ended": {},
        "by_language": {
            "es": {"journeys": 12, "answered": 11, "worse": 0, "no_reply": 0, "ended_early": 0},
            "so": {"journeys": None, "answered": None, "worse": None, "no_reply": None, "ended_early": None},
        },
    }
    other = create_clinic(engine, name="Other Clinic", phone="+12025550199")
    theirs = client.get(f"/admin/campaigns/{campaign.id}/journeys", headers=auth(create_key(engine, other)))
    assert theirs.status_code == 404
