"""Quiet hours are checked again when a text is claimed, in each patient's own time zone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta

from freezegun import freeze_time
from sqlalchemy.engine import Engine
from sqlmodel import Session

from outreach.db import session_scope
from outreach.messaging import scheduler, service
from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.messaging.quiet_hours import in_quiet_hours, next_allowed
from tests.factories import create_clinic, create_patient

QUIET = {"start": time(21, 0), "end": time(8, 0)}


def test_window_across_midnight() -> None:
    assert in_quiet_hours(time(22, 0), **QUIET)
    assert in_quiet_hours(time(7, 59), **QUIET)
    assert not in_quiet_hours(time(8, 0), **QUIET)
    assert not in_quiet_hours(time(20, 59), **QUIET)
    assert in_quiet_hours(time(13, 0), start=time(12, 0), end=time(14, 0))


def test_same_instant_is_quiet_in_honolulu_but_not_in_new_york() -> None:
    instant = datetime(2026, 6, 1, 16, 0, tzinfo=UTC)  # 12:00 New York, 06:00 Honolulu
    assert next_allowed(instant, tz="America/New_York", **QUIET) is None
    wake = next_allowed(instant, tz="Pacific/Honolulu", **QUIET)
    assert wake == datetime(2026, 6, 1, 18, 0, tzinfo=UTC)  # 08:00 in Honolulu


def test_late_evening_waits_for_the_next_morning_in_kolkata() -> None:
    instant = datetime(2026, 6, 1, 17, 0, tzinfo=UTC)  # 22:30 in Kolkata (+05:30)
    assert next_allowed(instant, tz="Asia/Kolkata", **QUIET) == datetime(2026, 6, 2, 2, 30, tzinfo=UTC)


def test_dst_spring_forward_morning_in_new_york_2026_03_08() -> None:
    instant = datetime(2026, 3, 8, 6, 0, tzinfo=UTC)  # 01:00 EST, the night clocks jump to EDT
    assert next_allowed(instant, tz="America/New_York", **QUIET) == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)


def _due_text(engine: Engine, *, tz: str, kind: str = "one_off") -> uuid.UUID:
    clinic = create_clinic(engine, quiet_hours=(QUIET["start"], QUIET["end"]))
    patient = create_patient(engine, clinic, timezone=tz)
    with session_scope(engine) as session:
        message = service.create_one_off(
            session=session,
            clinic_id=clinic.id,
            patient_id=patient.id,
            body="Hello",
            send_at=None,
            language=None,
            now=datetime.now(UTC),
            kind=kind,
        )
        return message.id


def test_claim_defers_a_text_due_in_the_patients_night(engine: Engine) -> None:
    night_in_honolulu = datetime(2026, 6, 1, 16, 0, tzinfo=UTC)
    with freeze_time(night_in_honolulu - timedelta(minutes=5)):
        sleeping = _due_text(engine, tz="Pacific/Honolulu")
        awake = _due_text(engine, tz="America/New_York")
        reply = _due_text(engine, tz="Pacific/Honolulu", kind="reply")
    with session_scope(engine) as session:
        claimed = {mid for mid, _ in scheduler.claim_due(session=session, now=night_in_honolulu, limit=10)}
    assert claimed == {awake, reply}
    with Session(engine) as session:
        row = session.get(OutboundMessage, sleeping)
        assert row is not None
        assert row.status == MessageStatus.SCHEDULED
        assert row.send_at == datetime(2026, 6, 1, 18, 0, tzinfo=UTC)
    with session_scope(engine) as session:
        later = scheduler.claim_due(session=session, now=datetime(2026, 6, 1, 18, 1, tzinfo=UTC), limit=10)
    assert [mid for mid, _ in later] == [sleeping]
