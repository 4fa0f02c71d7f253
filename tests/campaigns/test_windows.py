"""Texts are written to the outbox a window ahead of their time, and nothing a patient would notice changes:
each text once at its time, quiet hours in their zone, a STOP or a visit change before the window wins."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session

from outreach.campaigns import preview
from outreach.campaigns.materialize import AHEAD
from outreach.db import session_scope
from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.messaging.scheduler import claim_due
from outreach.patients import service as patients
from tests.campaigns.support import book, enroll, launch_now, make_campaign, materialize_now, outbox
from tests.factories import create_clinic, create_patient

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
VISIT = NOW + timedelta(days=3)
STEPS = [{"offset_minutes": -2880}, {"offset_minutes": -120}]  # 48 h and 2 h before the visit


def _launched(engine: Engine, **clinic: object):  # type: ignore[no-untyped-def]
    place = create_clinic(engine, **clinic)  # type: ignore[arg-type]
    patient = create_patient(engine, place, language="en")
    visit_id = book(engine, place, patient.id, VISIT)
    campaign = make_campaign(engine, place, now=NOW, steps=STEPS)
    enroll(engine, campaign, now=NOW)
    report = launch_now(
        engine, campaign, now=NOW, ahead=AHEAD
    )  # the worker's first window, default lookahead
    return place, patient, visit_id, campaign, report


def _live(rows: list[OutboundMessage]) -> list[OutboundMessage]:
    return [r for r in rows if r.status != MessageStatus.CANCELLED]


def _written_ahead(rows: list[OutboundMessage]) -> bool:
    """Every scheduled row was in the outbox at least the lookahead before its time."""
    return all(r.send_at - r.created_at >= AHEAD for r in rows if r.status == MessageStatus.SCHEDULED)


def test_texts_are_written_a_window_ahead_and_each_once_while_the_dry_run_shows_them_all(
    engine: Engine,
) -> None:
    clinic, _, _, campaign, first = _launched(engine)
    assert (first.status, first.rows_written, first.written_until) == ("live", 0, NOW + timedelta(hours=7))
    with Session(engine) as session:
        timeline = preview.dry_run(session=session, clinic_id=clinic.id, campaign_id=campaign.id, now=NOW)
    assert timeline.scheduled == 2  # the whole timeline, not only the first window

    materialize_now(engine, campaign, now=NOW + timedelta(hours=18), ahead=AHEAD)
    materialize_now(
        engine, campaign, now=NOW + timedelta(hours=18), ahead=AHEAD
    )  # a second tick: nothing new
    assert [r.send_at for r in outbox(engine, campaign.id)] == [VISIT - timedelta(hours=48)]

    report = materialize_now(engine, campaign, now=NOW + timedelta(hours=64), ahead=AHEAD)

    rows = outbox(engine, campaign.id)
    assert [r.send_at for r in rows] == [VISIT - timedelta(hours=48), VISIT - timedelta(hours=2)]
    assert _written_ahead(rows)
    assert (report.rows_written, report.scheduled) == (2, 2)
    with session_scope(engine) as session:
        due = claim_due(session=session, now=VISIT - timedelta(hours=48), limit=10)
    assert [mid for mid, _ in due] == [rows[0].id]  # claimable at its time


def test_a_stop_after_launch_but_before_the_window_means_no_text_at_all(engine: Engine) -> None:
    _, patient, _, campaign, _ = _launched(engine)
    with session_scope(engine) as session:
        patients.opt_out(session=session, patient=patient, source="sms", now=NOW + timedelta(hours=1))

    for hours in (18, 64):
        materialize_now(engine, campaign, now=NOW + timedelta(hours=hours), ahead=AHEAD)

    assert outbox(engine, campaign.id) == []
    with session_scope(engine) as session:
        assert claim_due(session=session, now=VISIT, limit=10) == []


def test_a_visit_moved_or_cancelled_before_its_window_is_written_as_it_is_then(engine: Engine) -> None:
    clinic, patient, visit_id, campaign, _ = _launched(engine)
    moved = VISIT + timedelta(days=1)
    with session_scope(engine) as session:
        patients.reschedule_appointment(
            session=session, clinic_id=clinic.id, appointment_id=visit_id, starts_at=moved, location=None,
            now=NOW + timedelta(hours=1),
        )  # fmt: skip
    other = book(engine, clinic, patient.id, VISIT + timedelta(hours=6), now=NOW)
    with session_scope(engine) as session:
        patients.cancel_appointment(
            session=session, clinic_id=clinic.id, appointment_id=other, now=NOW + timedelta(hours=1)
        )

    materialize_now(engine, campaign, now=NOW + timedelta(hours=42), ahead=AHEAD)

    rows = outbox(engine, campaign.id)
    assert [(r.appointment_id, r.send_at) for r in rows] == [(visit_id, moved - timedelta(hours=48))]


def test_a_written_reminder_whose_visit_moves_past_the_window_is_written_again_once_at_its_new_time(
    engine: Engine,
) -> None:
    clinic, _, visit_id, campaign, _ = _launched(engine)
    materialize_now(engine, campaign, now=NOW + timedelta(hours=18), ahead=AHEAD)
    moved = VISIT + timedelta(days=2)
    with session_scope(engine) as session:
        patients.reschedule_appointment(
            session=session, clinic_id=clinic.id, appointment_id=visit_id, starts_at=moved, location=None,
            now=NOW + timedelta(hours=19),
        )  # fmt: skip
    assert _live(outbox(engine, campaign.id)) == []  # the old time is gone; the new one is not due yet

    for hours in (40, 66, 66, 112):
        materialize_now(engine, campaign, now=NOW + timedelta(hours=hours), ahead=AHEAD)

    live = _live(outbox(engine, campaign.id))
    assert [r.send_at for r in live] == [moved - timedelta(hours=48), moved - timedelta(hours=2)]


def test_a_visit_moved_sooner_gets_its_reminder_now_when_its_window_is_already_written(
    engine: Engine,
) -> None:
    clinic, _, visit_id, campaign, _ = _launched(engine)
    materialize_now(engine, campaign, now=NOW + timedelta(hours=18), ahead=AHEAD)  # written until NOW + 25 h
    sooner = NOW + timedelta(hours=26)
    with session_scope(engine) as session:
        patients.reschedule_appointment(
            session=session, clinic_id=clinic.id, appointment_id=visit_id, starts_at=sooner, location=None,
            now=NOW + timedelta(hours=19),
        )  # fmt: skip
    materialize_now(engine, campaign, now=NOW + timedelta(hours=20), ahead=AHEAD)

    rows = outbox(engine, campaign.id)
    assert [(r.status, r.send_at) for r in rows] == [
        (MessageStatus.SKIPPED, sooner - timedelta(hours=48)),  # 48 h ahead of the new time has passed
        (MessageStatus.SCHEDULED, sooner - timedelta(hours=2)),
    ]


def test_a_visit_booked_after_launch_gets_each_reminder_once_whichever_window_it_falls_in(
    engine: Engine,
) -> None:
    clinic, patient, _, campaign, _ = _launched(engine)
    materialize_now(engine, campaign, now=NOW + timedelta(hours=18), ahead=AHEAD)  # written until NOW + 25 h
    late = book(engine, clinic, patient.id, NOW + timedelta(hours=24), now=NOW + timedelta(hours=19))
    assert [(r.status, r.send_at) for r in outbox(engine, campaign.id) if r.appointment_id == late] == [
        (MessageStatus.SKIPPED, NOW - timedelta(hours=24)),  # 48 h before a visit a day away: passed
        (MessageStatus.SCHEDULED, NOW + timedelta(hours=22)),  # inside the written window: planned at booking
    ]
    far = book(engine, clinic, patient.id, NOW + timedelta(days=5), now=NOW + timedelta(hours=19))
    assert [r for r in outbox(engine, campaign.id) if r.appointment_id == far] == []

    for hours in (20, 64, 64, 100, 114):
        materialize_now(engine, campaign, now=NOW + timedelta(hours=hours), ahead=AHEAD)

    by_visit = [r.send_at for r in outbox(engine, campaign.id) if r.appointment_id == far]
    assert by_visit == [NOW + timedelta(days=3), NOW + timedelta(days=5, hours=-2)]


def test_quiet_hours_in_the_patient_zone_hold_and_the_moved_text_is_still_written_in_time(
    engine: Engine,
) -> None:
    clinic = create_clinic(engine, quiet_hours=(time(21, 0), time(8, 0)))
    patient = create_patient(engine, clinic, language="en", timezone="Pacific/Honolulu")
    honolulu = ZoneInfo("Pacific/Honolulu")
    visit = datetime(2026, 6, 5, 6, 0, tzinfo=honolulu)  # its 2 h reminder would be 04:00, in quiet hours
    book(engine, clinic, patient.id, visit)
    campaign = make_campaign(engine, clinic, now=NOW, steps=[{"offset_minutes": -120}])
    enroll(engine, campaign, now=NOW)
    launch_now(engine, campaign, now=NOW, ahead=AHEAD)
    # The window reaches past the lookahead by the quiet hours' length (+15 min), because a reminder in
    # them moves earlier: 6 h + 11 h + 15 min + the 1 h stride after this moment.
    materialize_now(engine, campaign, now=datetime(2026, 6, 4, 12, 0, tzinfo=UTC), ahead=AHEAD)
    assert outbox(engine, campaign.id) == []

    materialize_now(engine, campaign, now=datetime(2026, 6, 4, 20, 0, tzinfo=UTC), ahead=AHEAD)

    (row,) = outbox(engine, campaign.id)
    assert row.send_at == datetime(2026, 6, 4, 20, 45, tzinfo=honolulu)  # the evening before
    assert row.status == MessageStatus.SCHEDULED
    assert _written_ahead([row])


def test_a_check_in_series_is_written_window_by_window_once_each_then_the_launch_is_done(
    engine: Engine,
) -> None:
    clinic = create_clinic(engine)
    patient = create_patient(engine, clinic, language="es", timezone="America/New_York")
    steps = [{"first_after_days": 1, "every_days": 2, "times": 3, "local_time": "10:00:00"}]
    campaign = make_campaign(engine, clinic, now=NOW, kind="checkin", steps=steps)
    enroll(engine, campaign, now=NOW)
    launch_now(engine, campaign, now=NOW, ahead=AHEAD)

    for hours in range(0, 24 * 9):  # the beat ticks far more often; hourly is enough for the stride
        report = materialize_now(engine, campaign, now=NOW + timedelta(hours=hours), ahead=AHEAD)

    rows = outbox(engine, campaign.id)
    new_york = ZoneInfo("America/New_York")
    assert [r.send_at for r in rows] == [datetime(2026, 6, d, 10, 0, tzinfo=new_york) for d in (2, 4, 6)]
    assert {r.patient_id for r in rows} == {patient.id}
    assert _written_ahead(rows)
    assert (report.status, report.rows_written) == ("done", 3)


def test_two_workers_writing_the_same_launch_at_once_write_each_text_once(engine: Engine) -> None:
    clinic = create_clinic(engine)
    for _ in range(30):
        patient = create_patient(engine, clinic, language="en")
        book(engine, clinic, patient.id, VISIT)
    campaign = make_campaign(engine, clinic, now=NOW, steps=STEPS)
    enroll(engine, campaign, now=NOW)
    launch_now(engine, campaign, now=NOW, ahead=AHEAD)
    later = NOW + timedelta(hours=64)  # both reminders of every visit are due in this window

    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = [
            pool.submit(materialize_now, engine, campaign, now=later, chunk=4, ahead=AHEAD) for _ in range(2)
        ]
        reports = [run.result() for run in runs]

    rows = outbox(engine, campaign.id)
    assert len(rows) == 60
    assert len({(r.appointment_id, r.step_id) for r in rows}) == 60
    assert max(r.rows_written for r in reports) == 60
