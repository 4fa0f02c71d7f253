"""The sync asks for patients' events only when the clinic's journey rules need them, and records them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from outreach.db import session_scope, utcnow
from outreach.journeys import service as journeys_service
from outreach.journeys.models import EventKind, PatientEvent
from outreach.journeys.schemas import RuleIn
from outreach.patients.models import ConsentStatus, Patient
from outreach.patients.service import record_consent
from tests.campaigns.support import launch_now, make_campaign
from tests.factories import create_clinic
from tests.fhir.server import FakeFhir, fhir_server
from tests.fhir.test_sync import connect, patient, schedule, sync, visit
from tests.journeys.support import SIX_WEEKS, journey_campaign, journeys


@pytest.fixture
def fake() -> Iterator[FakeFhir]:
    with fhir_server() as server:
        yield server


def stamp(moment: Any) -> str:
    return str(moment.strftime("%Y-%m-%dT%H:%M:%SZ"))


def stay(fhir_id: str, patient_id: str, status: str, end: Any = None) -> dict[str, Any]:
    period = {"start": "2026-11-20T08:00:00Z", **({"end": end.isoformat()} if end else {})}
    return {
        "resourceType": "Encounter",
        "id": fhir_id,
        "status": status,
        "class": {"code": "IMP"},
        "subject": {"reference": f"Patient/{patient_id}"},
        "period": period,
        "location": [{"location": {"display": "Ward 4B"}}],
    }


def grant(engine: Engine, mrn: str) -> Patient:
    with session_scope(engine) as session:
        found = session.exec(select(Patient).where(Patient.external_id == mrn)).one()
        record_consent(
            session=session, patient=found, status=ConsentStatus.GRANTED, source="test", now=utcnow()
        )
        return found


def test_a_clinic_without_journey_rules_asks_for_no_encounters(engine: Engine, fake: FakeFhir) -> None:
    clinic = create_clinic(engine)
    schedule(fake, visits=2, now=utcnow())
    fake.put_encounter(stay("e1", "p0", "finished", utcnow() - timedelta(hours=2)))
    connect(engine, clinic, fake)
    run = sync(engine, clinic)
    assert run.status == "succeeded", run.error
    assert fake.searches("Encounter") == []
    assert "Encounter" not in run.counts


def test_a_discharge_rule_brings_finished_encounters_in_and_their_patients_are_enrolled(
    engine: Engine, fake: FakeFhir
) -> None:
    clinic = create_clinic(engine)
    now = utcnow()
    journey_campaign(engine, clinic, now=now - timedelta(days=1), location="Ward 4B")
    fake.patients["p1"] = patient("p1", "202-555-0131")
    fake.put_appointment(visit("a1", "p1", now + timedelta(days=2)))
    fake.put_encounter(stay("e1", "p1", "in-progress"), last_updated=stamp(now - timedelta(days=1)))
    connect(engine, clinic, fake)
    first = sync(engine, clinic)
    assert first.status == "succeeded", first.error
    assert first.counts["Patient"]["created"] == 1
    assert "Encounter" not in first.counts  # still in progress: not asked for
    (query,) = fake.searches("Encounter")
    assert query["status"] == ["finished,cancelled,entered-in-error"]
    assert query["_include"] == ["Encounter:patient"]
    since = query["_lastUpdated"][0].removeprefix("ge")  # the first run looks back over the window
    assert since == stamp(first.started_at - timedelta(days=14, minutes=5))

    person = grant(engine, "MRN-p1")
    left = now - timedelta(hours=1)
    fake.put_encounter(stay("e1", "p1", "finished", left), last_updated=stamp(utcnow()))
    second = sync(engine, clinic)
    assert second.counts["Encounter"]["created"] == 1
    assert second.counts["events"]["journeys_started"] == 1
    assert fake.searches("Encounter")[1]["_lastUpdated"] == [
        f"ge{stamp(first.started_at - timedelta(minutes=5))}"
    ]
    (journey,) = journeys(engine, person.id)
    assert journey.anchor_at == left


def test_a_visit_fulfilled_rule_asks_for_fulfilled_appointments(engine: Engine, fake: FakeFhir) -> None:
    clinic = create_clinic(engine)
    now = utcnow()
    campaign = make_campaign(
        engine, clinic, now=now - timedelta(days=1), name="After a visit", kind="checkin",
        anchor_event="visit_fulfilled", steps=SIX_WEEKS,
    )  # fmt: skip
    with session_scope(engine) as session:
        rule = RuleIn(event_kind=EventKind.VISIT_FULFILLED, campaign_id=campaign.id)
        journeys_service.create_rule(session=session, clinic_id=clinic.id, data=rule, now=now)
    launch_now(engine, campaign, now=now - timedelta(days=1))
    fake.patients["p1"] = patient("p1", "202-555-0132")
    fake.put_appointment(visit("done", "p1", now - timedelta(hours=3), status="fulfilled"))
    connect(engine, clinic, fake)
    run = sync(engine, clinic)
    assert run.status == "succeeded", run.error
    searched = fake.searches()
    assert [q.get("status") for q in searched] == [None, ["fulfilled"]]
    assert run.counts["events"]["recorded"] == 1
    with Session(engine) as session:
        (event,) = session.exec(select(PatientEvent).where(PatientEvent.clinic_id == clinic.id)).all()
    assert (event.kind, event.location) == (EventKind.VISIT_FULFILLED, "Clinic B")
