"""Unsent campaign texts follow the schedule: moved or cancelled visits, opt-outs, pause and resume."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy.engine import Engine

from outreach.campaigns import service
from outreach.db import session_scope
from outreach.errors import Conflict
from outreach.messaging.models import MessageStatus
from outreach.patients import service as patients
from outreach.patients.models import ConsentStatus
from tests.campaigns.support import book, enroll, launch_now, make_campaign, outbox
from tests.factories import create_clinic, create_patient

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
VISIT = datetime(2026, 6, 10, 15, 0, tzinfo=UTC)
TWO_STEPS = [{"offset_minutes": -1440}, {"offset_minutes": -120}]


def _launched(engine: Engine, *, patients_count: int = 1):  # type: ignore[no-untyped-def]
    clinic = create_clinic(engine)
    people = [create_patient(engine, clinic, language="en") for _ in range(patients_count)]
    visits = [book(engine, clinic, p.id, VISIT) for p in people]
    campaign = make_campaign(engine, clinic, now=NOW, steps=TWO_STEPS)
    enroll(engine, campaign, now=NOW)
    launch_now(engine, campaign, now=NOW)
    return clinic, people, visits, campaign


def test_rescheduling_a_visit_moves_and_rewords_its_unsent_reminders(engine: Engine) -> None:
    clinic, _, (visit_id,), campaign = _launched(engine)
    before = outbox(engine, campaign.id)
    moved = VISIT + timedelta(days=2, hours=3)

    with session_scope(engine) as session:
        patients.reschedule_appointment(
            session=session,
            clinic_id=clinic.id,
            appointment_id=visit_id,
            starts_at=moved,
            location=None,
            now=NOW,
        )

    after = outbox(engine, campaign.id)
    assert [r.send_at for r in after] == [moved - timedelta(hours=24), moved - timedelta(hours=2)]
    assert all(r.status == MessageStatus.SCHEDULED for r in after)
    assert [r.body for r in after] != [r.body for r in before]  # the date and time in the text changed


def test_cancelling_a_visit_cancels_its_unsent_reminders(engine: Engine) -> None:
    clinic, _, (visit_id,), campaign = _launched(engine)

    with session_scope(engine) as session:
        patients.cancel_appointment(session=session, clinic_id=clinic.id, appointment_id=visit_id, now=NOW)

    rows = outbox(engine, campaign.id)
    assert {r.status for r in rows} == {MessageStatus.CANCELLED}
    assert all(r.error_reason == "appointment cancelled" for r in rows)


def test_revoking_consent_cancels_every_unsent_text_of_that_patient_only(engine: Engine) -> None:
    clinic, (leaving, staying), _, campaign = _launched(engine, patients_count=2)

    with session_scope(engine) as session:
        patients.change_consent(
            session=session,
            clinic_id=clinic.id,
            patient_id=leaving.id,
            status=ConsentStatus.REVOKED,
            source="phone call",
            now=NOW,
        )

    status = {(r.patient_id, r.status) for r in outbox(engine, campaign.id)}
    assert status == {(leaving.id, MessageStatus.CANCELLED), (staying.id, MessageStatus.SCHEDULED)}


def test_pausing_holds_rows_and_resuming_skips_those_whose_time_passed(engine: Engine) -> None:
    clinic, _, _, campaign = _launched(engine)
    with session_scope(engine) as session:
        held = service.pause(session=session, clinic_id=clinic.id, campaign_id=campaign.id, now=NOW)
    assert held == 2
    assert {r.status for r in outbox(engine, campaign.id)} == {MessageStatus.HELD}

    # Resume between the two sends: the -24 h one has passed, the -2 h one is still ahead.
    later = VISIT - timedelta(hours=12)
    with freeze_time(later), session_scope(engine) as session:
        released = service.resume(session=session, clinic_id=clinic.id, campaign_id=campaign.id, now=later)

    first, second = outbox(engine, campaign.id)
    assert released == 1
    assert first.status == MessageStatus.SKIPPED
    assert second.status == MessageStatus.SCHEDULED


def test_only_a_launched_campaign_can_be_paused(engine: Engine) -> None:
    clinic = create_clinic(engine)
    campaign = make_campaign(engine, clinic, now=NOW)
    with session_scope(engine) as session, pytest.raises(Conflict):
        service.pause(session=session, clinic_id=clinic.id, campaign_id=campaign.id, now=NOW)


def test_a_visit_moved_while_its_campaign_is_paused_stays_held_at_the_new_time(engine: Engine) -> None:
    clinic, _, (visit_id,), campaign = _launched(engine)
    with session_scope(engine) as session:
        service.pause(session=session, clinic_id=clinic.id, campaign_id=campaign.id, now=NOW)
    moved = VISIT + timedelta(days=1)

    with session_scope(engine) as session:
        patients.reschedule_appointment(
            session=session,
            clinic_id=clinic.id,
            appointment_id=visit_id,
            starts_at=moved,
            location=None,
            now=NOW,
        )

    rows = outbox(engine, campaign.id)
    assert {r.status for r in rows} == {MessageStatus.HELD}
    assert [r.send_at for r in rows] == [moved - timedelta(hours=24), moved - timedelta(hours=2)]


def test_a_visit_booked_after_launch_gets_reminders_only_for_enrolled_patients(engine: Engine) -> None:
    clinic, (enrolled,), _, campaign = _launched(engine)
    outsider = create_patient(engine, clinic, language="en")
    later_visit = VISIT + timedelta(days=7)

    book(engine, clinic, enrolled.id, later_visit, now=NOW)
    book(engine, clinic, outsider.id, later_visit, now=NOW)

    new_rows = [r for r in outbox(engine, campaign.id) if r.send_at > VISIT]
    assert [(r.patient_id, r.send_at) for r in new_rows] == [
        (enrolled.id, later_visit - timedelta(hours=24)),
        (enrolled.id, later_visit - timedelta(hours=2)),
    ]
    assert all(r.status == MessageStatus.SCHEDULED for r in new_rows)
