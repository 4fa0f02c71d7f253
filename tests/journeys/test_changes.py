"""A corrected discharge re-plans its series' unsent texts (sent ones are not sent again), also when later
windows write the rest; a deleted one ends the series."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from outreach.campaigns import materialize
from outreach.campaigns.materialize import AHEAD
from outreach.db import session_scope
from outreach.journeys import changes
from outreach.journeys.models import JourneyStatus
from outreach.journeys.schemas import PatientEventCorrection
from outreach.messaging.models import MessageStatus
from tests.factories import create_clinic, create_patient
from tests.journeys.support import discharge, journey_campaign, journeys, mark_sent, texts

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
LEFT = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)  # a Monday, 09:00 UTC


def _weekly(first_day: datetime, weeks: range) -> list[datetime]:
    return [first_day.replace(hour=10) + timedelta(days=7 * n) for n in weeks]


def _correct(engine: Engine, clinic_id, event_id, at: datetime, now: datetime) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        data = PatientEventCorrection(occurred_at=at)
        changes.correct_event(session=session, clinic_id=clinic_id, event_id=event_id, data=data, now=now)


def test_a_corrected_discharge_moves_the_unsent_texts_and_keeps_the_sent_one(engine: Engine) -> None:
    clinic = create_clinic(engine)
    journey_campaign(engine, clinic, now=NOW - timedelta(days=1))  # every window written at once
    patient = create_patient(engine, clinic, timezone="UTC")
    report = discharge(engine, clinic, patient.id, LEFT, now=NOW)
    (journey,) = journeys(engine, patient.id)
    first = texts(engine, journey.id)[0]
    assert first.send_at == LEFT + timedelta(hours=48)
    mark_sent(engine, first.id, first.send_at)

    # the discharge was really a day later
    _correct(engine, clinic.id, report.event_ids[0], LEFT + timedelta(days=1), NOW + timedelta(days=3))
    rows = texts(engine, journey.id)
    assert [(r.send_at, r.status) for r in rows] == [(first.send_at, MessageStatus.SENT)] + [
        (at, MessageStatus.SCHEDULED) for at in _weekly(LEFT + timedelta(days=1 + 7), range(6))
    ]
    cancelled = [r for r in texts(engine, journey.id, live=False) if r.status == MessageStatus.CANCELLED]
    assert len(cancelled) == 6
    assert all(r.error_reason == changes.CORRECTED for r in cancelled)


def test_a_correction_before_the_windows_reach_the_series_leaves_each_text_written_once(
    engine: Engine,
) -> None:
    clinic = create_clinic(engine)
    campaign = journey_campaign(engine, clinic, now=NOW - timedelta(days=1), ahead=AHEAD)
    patient = create_patient(engine, clinic, timezone="UTC")
    report = discharge(engine, clinic, patient.id, LEFT, now=NOW)
    for hours in range(0, 24 * 10, 6):  # ten days of windows: the 48-hour and day-7 texts are written
        materialize.advance(
            engine=engine, campaign_id=campaign.id, now=NOW + timedelta(hours=hours), ahead=AHEAD
        )
    (journey,) = journeys(engine, patient.id)
    written = texts(engine, journey.id)
    assert [r.send_at for r in written] == [
        LEFT + timedelta(hours=48),
        *_weekly(LEFT + timedelta(days=7), range(1)),
    ]
    for row in written:
        mark_sent(engine, row.id, row.send_at)

    fixed = NOW + timedelta(days=10)
    _correct(engine, clinic.id, report.event_ids[0], LEFT + timedelta(days=2), fixed)
    for hours in range(0, 24 * 50, 6):
        materialize.advance(
            engine=engine, campaign_id=campaign.id, now=fixed + timedelta(hours=hours), ahead=AHEAD
        )
    rows = texts(engine, journey.id)
    # the two sent texts stay; the remaining five weekly ones follow the corrected date, once each
    assert [r.send_at for r in rows] == [r.send_at for r in written] + _weekly(
        LEFT + timedelta(days=2 + 14), range(5)
    )


def test_a_deleted_discharge_ends_its_series(engine: Engine) -> None:
    clinic = create_clinic(engine)
    journey_campaign(engine, clinic, now=NOW - timedelta(days=1))
    patient = create_patient(engine, clinic, timezone="UTC")
    report = discharge(engine, clinic, patient.id, LEFT, now=NOW)
    with session_scope(engine) as session:
        ended = changes.delete_event(
            session=session, clinic_id=clinic.id, event_id=report.event_ids[0], now=NOW
        )
    assert ended == 1
    (journey,) = journeys(engine, patient.id)
    assert (journey.status, journey.end_reason) == (JourneyStatus.ENDED, "event_deleted")
    assert texts(engine, journey.id) == []
    with session_scope(engine) as session:
        assert changes.list_events(session=session, clinic_id=clinic.id, patient_id=patient.id) == []
