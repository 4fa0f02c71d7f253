"""Rules enroll a patient once per event (also from two imports at once), only patients who can be texted,
only from the rule's location; a late event starts from the next send that can still go; a new discharge
restarts the series when the campaign says so."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from outreach.db import session_scope
from outreach.journeys.events import EventRecord, record_patient_events
from outreach.journeys.models import EventKind, Journey, JourneyAudit, JourneyStatus, PatientEvent
from outreach.messaging.models import MessageStatus
from tests.factories import create_clinic, create_patient
from tests.journeys.support import discharge, journey_campaign, journeys, texts

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _count(engine: Engine, model: type[object]) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def test_the_same_discharge_twice_is_one_event_and_one_journey(engine: Engine) -> None:
    clinic = create_clinic(engine)
    journey_campaign(engine, clinic, now=NOW)
    patient = create_patient(engine, clinic, timezone="America/Chicago")
    first = discharge(engine, clinic, patient.id, NOW - timedelta(hours=2), now=NOW)
    again = discharge(engine, clinic, patient.id, NOW - timedelta(hours=2), now=NOW + timedelta(minutes=5))
    assert (first.recorded, first.journeys_started) == (1, 1)
    assert (again.recorded, again.duplicates, again.journeys_started) == (0, 1, 0)
    (journey,) = journeys(engine, patient.id)
    assert len(texts(engine, journey.id)) == 7
    with Session(engine) as session:
        audit = session.exec(select(JourneyAudit)).all()
    assert [(a.action, a.journey_id) for a in audit] == [("enrolled", journey.id)]
    assert audit[0].rule_id == journey.rule_id is not None


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_two_imports_of_the_same_events_at_once_start_each_journey_once(engine: Engine) -> None:
    clinic = create_clinic(engine)
    journey_campaign(engine, clinic, now=NOW)
    people = [create_patient(engine, clinic, timezone="America/New_York") for _ in range(20)]
    events = [
        EventRecord(kind=EventKind.DISCHARGED, occurred_at=NOW - timedelta(hours=n + 1), patient_id=p.id)
        for n, p in enumerate(people)
    ]
    reports = {}

    def second_import() -> None:
        with session_scope(engine) as session:
            reports["second"] = record_patient_events(session, clinic.id, events, now=NOW)

    with session_scope(engine) as session:
        reports["first"] = record_patient_events(session, clinic.id, events, now=NOW)
        other = threading.Thread(target=second_import)
        other.start()
        other.join(timeout=1.0)
        assert other.is_alive()  # it waits on the first import's uncommitted events
    other.join(timeout=30)
    assert reports["first"].journeys_started == 20
    assert (reports["second"].recorded, reports["second"].journeys_started) == (0, 0)
    assert _count(engine, PatientEvent) == 20
    assert _count(engine, Journey) == 20
    assert _count(engine, JourneyAudit) == 20
    # every series planned once: 7 texts each
    assert all(len(texts(engine, j.id)) == 7 for p in people for j in journeys(engine, p.id))


def test_a_rule_for_one_ward_and_patients_without_consent_are_left_out(engine: Engine) -> None:
    clinic = create_clinic(engine)
    journey_campaign(engine, clinic, now=NOW, location="Cardiology")
    cardiac = create_patient(engine, clinic, timezone="UTC")
    surgical = create_patient(engine, clinic, timezone="UTC")
    unasked = create_patient(engine, clinic, timezone="UTC", consent=None)
    at = NOW - timedelta(hours=1)
    assert discharge(engine, clinic, cardiac.id, at, now=NOW, location="Cardiology").journeys_started == 1
    assert discharge(engine, clinic, surgical.id, at, now=NOW, location="Surgery").journeys_started == 0
    left_out = discharge(engine, clinic, unasked.id, at, now=NOW, location="Cardiology")
    assert (left_out.recorded, left_out.journeys_started) == (1, 0)
    assert left_out.not_enrolled == {"consent_unknown": 1}
    assert journeys(engine, surgical.id) == []
    assert journeys(engine, unasked.id) == []


def test_a_late_discharge_starts_from_the_next_send_that_can_still_go(engine: Engine) -> None:
    clinic = create_clinic(engine)
    journey_campaign(engine, clinic, now=NOW - timedelta(days=20))
    patient = create_patient(engine, clinic, timezone="UTC")
    # discharged 10 days ago, recorded now: the 48-hour check-in and the day-7 one are past
    report = discharge(engine, clinic, patient.id, datetime(2026, 5, 22, 9, 0, tzinfo=UTC), now=NOW)
    assert report.journeys_started == 1
    (journey,) = journeys(engine, patient.id)
    rows = texts(engine, journey.id)
    skipped = [r.send_at for r in rows if r.status == MessageStatus.SKIPPED]
    scheduled = [r.send_at for r in rows if r.status == MessageStatus.SCHEDULED]
    day = datetime(2026, 5, 22, 10, 0, tzinfo=UTC)
    assert skipped == [datetime(2026, 5, 24, 9, 0, tzinfo=UTC), day + timedelta(days=7)]
    assert scheduled == [day + timedelta(days=7 * n) for n in range(2, 7)]
    assert all((r.error_reason or "").startswith("past") for r in rows if r.status == MessageStatus.SKIPPED)


def test_a_new_discharge_restarts_the_series(engine: Engine) -> None:
    clinic = create_clinic(engine)
    journey_campaign(engine, clinic, now=NOW)
    patient = create_patient(engine, clinic, timezone="UTC")
    discharge(engine, clinic, patient.id, NOW + timedelta(hours=1), now=NOW + timedelta(hours=2))
    readmitted = NOW + timedelta(days=9)  # readmitted and discharged again after the day-7 check-in
    report = discharge(engine, clinic, patient.id, readmitted, now=readmitted + timedelta(hours=1))
    assert (report.journeys_started, report.journeys_restarted) == (1, 1)
    first, second = journeys(engine, patient.id)
    assert (first.status, first.end_reason) == (JourneyStatus.ENDED, "readmitted")
    assert second.status == JourneyStatus.ACTIVE
    old = texts(engine, first.id, live=False)
    # the first series' texts before the readmission stay; every later one is cancelled
    later = [r for r in old if r.send_at > readmitted + timedelta(hours=1)]
    assert later
    assert all(r.status == MessageStatus.CANCELLED for r in later)
    assert next(r.send_at for r in texts(engine, second.id)) == readmitted + timedelta(hours=48)


def test_without_restart_a_new_discharge_leaves_the_running_series_alone(engine: Engine) -> None:
    clinic = create_clinic(engine)
    journey_campaign(engine, clinic, now=NOW, restart_on_readmission=False)
    patient = create_patient(engine, clinic, timezone="UTC")
    discharge(engine, clinic, patient.id, NOW + timedelta(hours=1), now=NOW + timedelta(hours=2))
    later = NOW + timedelta(days=9)
    report = discharge(engine, clinic, patient.id, later, now=later + timedelta(hours=1))
    assert (report.recorded, report.journeys_started, report.journeys_restarted) == (1, 0, 0)
    (only,) = journeys(engine, patient.id)
    assert only.status == JourneyStatus.ACTIVE
    assert len(texts(engine, only.id)) == 7
