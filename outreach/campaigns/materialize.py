"""Writing launched campaigns' texts to the outbox a window ahead of their time (a pipeline).

A pipeline because it owns its transactions: each chunk of rows is committed together with the launch
record's cursor and counters, so progress shows while it runs, a worker that stops resumes after the
last committed chunk, and no text is written twice. It runs in a worker (the `outreach.materialize`
beat task), never in a request.

What it promises:

* Windows are in target time (the moment a step means to fire, before quiet hours move it) and follow
  each other without gap or overlap; a window ends `lead` after now: the configured lookahead plus the
  clinic's quiet hours, because a reminder can move earlier by that much. So every text is in the outbox
  at least the lookahead before its time, and the first window also writes the sends already past (as
  skipped rows, the launch report's "past").
* A text is planned from the patient and visit as they are when its window is written: a STOP, a
  cancelled or moved visit that came before then is simply seen, and one that comes after finds a row
  (`changes.py` and the claim-time checks take it from there). The change paths lock the launch record,
  so they never interleave with a chunk.
* A visit that already has a live (not cancelled) row for a step is not given another one.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfoNotFoundError

from sqlalchemy import Executable, and_, false, or_, true, tuple_
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach.campaigns import timing
from outreach.campaigns.enrollment import can_text
from outreach.campaigns.launch import excluded_counts, write_rows
from outreach.campaigns.models import (
    Campaign,
    CampaignKind,
    CampaignLaunch,
    CampaignStatus,
    CampaignStep,
    Enrollment,
    LaunchStatus,
)
from outreach.campaigns.planning import Planner, Recipient
from outreach.campaigns.service import PAUSED, get_steps
from outreach.clinics.models import Clinic
from outreach.db import session_scope
from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.patients.models import Appointment, AppointmentStatus, Patient

log = logging.getLogger(__name__)

AHEAD = timedelta(hours=6)  # default lookahead: texts are in the outbox at least this long before their time
STRIDE = timedelta(hours=1)  # each window reaches this far past the lead, so windows come about hourly
CHUNK = 5_000
UNKNOWN_ZONE = "unknown_time_zone"  # excluded: a patient whose stored zone this system does not know
_SLACK = timedelta(days=2)  # a check-in's UTC moment is within a day of its local date, either way


def lead(clinic: Clinic, ahead: timedelta) -> timedelta:
    """How far past now a window must reach: the lookahead, plus how early quiet hours can move a reminder."""
    if clinic.quiet_start == clinic.quiet_end:
        return ahead
    day = timedelta(days=1)
    start, end = (timedelta(hours=t.hour, minutes=t.minute) for t in (clinic.quiet_start, clinic.quiet_end))
    return ahead + (end - start) % day + timing.EARLY_MARGIN


def horizon(launch: CampaignLaunch) -> datetime | None:
    """Targets before this moment are written (or being written): a change path plans those itself."""
    return launch.window_until or launch.materialized_until


@dataclass(frozen=True, slots=True)
class Window:
    """One stretch of target time being written, and where the last chunk ended."""

    start: datetime | None  # None: from the beginning (the first window also writes past sends)
    end: datetime
    cursor: uuid.UUID | None
    cursor_at: datetime | None


def lock_launch(session: Session, campaign_id: uuid.UUID) -> CampaignLaunch | None:
    """A campaign's launch record, locked until the transaction ends (None before launch)."""
    query = select(CampaignLaunch).where(CampaignLaunch.campaign_id == campaign_id).with_for_update()
    return session.exec(query).first()


def _may_fire(campaign: Campaign, step: CampaignStep, launched_at: datetime, window: Window) -> bool:
    """Whether a check-in or broadcast step can have a target in the window (cheap, before any patient)."""
    if campaign.kind == CampaignKind.BROADCAST:
        at = step.send_at
        return at is not None and at < window.end and (window.start is None or at >= window.start)
    base = campaign.anchor_date or launched_at.date()
    for n in range(step.times or 1):
        day = base + timedelta(days=(step.first_after_days or 0) + (step.every_days or 0) * n)
        approx = datetime.combine(day, step.local_time or datetime.min.time(), tzinfo=UTC)
        if approx - _SLACK < window.end and (window.start is None or approx + _SLACK >= window.start):
            return True
    return False


def last_target(campaign: Campaign, steps: list[CampaignStep], launched_at: datetime) -> datetime | None:
    """After this no check-in or broadcast step can fire (None for reminders: visits keep being booked)."""
    if campaign.kind == CampaignKind.REMINDER:
        return None
    if campaign.kind == CampaignKind.BROADCAST:
        return max((s.send_at for s in steps if s.send_at is not None), default=launched_at) + _SLACK
    base = campaign.anchor_date or launched_at.date()
    days = max(
        ((s.first_after_days or 0) + (s.every_days or 0) * ((s.times or 1) - 1) for s in steps), default=0
    )
    return datetime.combine(base + timedelta(days=days + 1), datetime.min.time(), tzinfo=UTC) + _SLACK


def _visits(
    campaign: Campaign, steps: list[CampaignStep], window: Window, now: datetime, chunk: int
) -> Executable:
    """The next chunk of upcoming visits of enrolled, textable patients with a reminder in the window.

    One range of start times per step (the window shifted by its offset), so a visit is read only by
    the windows its reminders fall in; the overall span lets the index walk one range.
    """
    offsets = [timedelta(minutes=s.offset_minutes) for s in steps if s.offset_minutes is not None]
    starts = col(Appointment.starts_at)
    ranges = [
        and_(
            starts < window.end - offset, true() if window.start is None else starts >= window.start - offset
        )
        for offset in offsets
    ]
    query = (
        sa_select(
            col(Patient.id),
            col(Patient.given_name),
            col(Patient.language),
            col(Patient.timezone),
            col(Appointment.id),
            starts,
            col(Appointment.location),
        )
        .join(Patient, col(Patient.id) == col(Appointment.patient_id))
        .join(
            Enrollment,
            and_(col(Enrollment.patient_id) == col(Patient.id), col(Enrollment.campaign_id) == campaign.id),
        )
        .where(
            col(Appointment.status) != AppointmentStatus.CANCELLED,
            starts > now,
            starts < window.end - min(offsets, default=timedelta(0)),
            or_(*ranges) if ranges else false(),
            can_text(),
        )
        .order_by(starts, col(Appointment.id))
        .limit(chunk)
    )
    if window.start is not None:
        query = query.where(starts >= window.start - max(offsets, default=timedelta(0)))
    if window.cursor is not None and window.cursor_at is not None:
        query = query.where(tuple_(starts, col(Appointment.id)) > tuple_(window.cursor_at, window.cursor))
    return query


def _patients(campaign: Campaign, window: Window, chunk: int) -> Executable:
    """The next chunk of enrolled, textable patients, by id."""
    query = (
        sa_select(col(Patient.id), col(Patient.given_name), col(Patient.language), col(Patient.timezone))
        .join(
            Enrollment,
            and_(col(Enrollment.patient_id) == col(Patient.id), col(Enrollment.campaign_id) == campaign.id),
        )
        .where(can_text())
        .order_by(col(Patient.id))
        .limit(chunk)
    )
    if window.cursor is not None:
        query = query.where(col(Patient.id) > window.cursor)
    return query


def _live_rows(session: Session, visit_ids: list[uuid.UUID]) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """(visit, step) pairs that already have a row that is not cancelled (a visit booked or moved since)."""
    if not visit_ids:
        return set()
    rows = session.execute(
        sa_select(col(OutboundMessage.appointment_id), col(OutboundMessage.step_id)).where(
            col(OutboundMessage.appointment_id).in_(visit_ids),
            col(OutboundMessage.status) != MessageStatus.CANCELLED,
        )
    ).all()
    return {(row[0], row[1]) for row in rows}


def _chunk(
    session: Session, launch: CampaignLaunch, campaign: Campaign, planner: Planner, window: Window, chunk: int
) -> tuple[Counter[str], int, bool]:
    """Write one chunk of the window; return (outcomes, recipients planned, whether more remain)."""
    reminder = campaign.kind == CampaignKind.REMINDER
    if reminder:
        query = _visits(campaign, planner.steps, window, planner.now, chunk)
    elif any(_may_fire(campaign, s, launch.launched_at, window) for s in planner.steps):
        query = _patients(campaign, window, chunk)
    else:
        return Counter(), 0, False
    batch = [Recipient(*row) for row in session.connection().execute(query)]
    live = _live_rows(session, [who.appointment_id for who in batch if who.appointment_id is not None])
    paused = campaign.status == CampaignStatus.PAUSED

    unplanned: Counter[str] = Counter()

    def rows() -> Iterator[dict[str, Any]]:
        for who in batch:
            try:
                planned = list(planner.rows_between(who, window.start, window.end))
            except ZoneInfoNotFoundError:  # a zone stored before validation: one patient, not the launch
                unplanned[UNKNOWN_ZONE] += 1
                continue
            for row in planned:
                if (who.appointment_id, row["step_id"]) in live:
                    continue
                if paused and row["status"] == MessageStatus.SCHEDULED.value:
                    row.update(status=MessageStatus.HELD.value, error_reason=PAUSED)
                yield row

    tally = write_rows(session.connection(), rows())
    if unplanned:
        excluded = dict(launch.excluded)
        excluded[UNKNOWN_ZONE] = excluded.get(UNKNOWN_ZONE, 0) + unplanned[UNKNOWN_ZONE]
        launch.excluded = excluded
    if batch:
        last = batch[-1]
        launch.cursor = last.appointment_id if reminder else last.patient_id
        launch.cursor_at = last.starts_at if reminder else None
    return tally, len(batch), len(batch) == chunk


def _count(launch: CampaignLaunch, tally: Counter[str], planned: int) -> None:
    skipped = dict(launch.skipped)
    for outcome, count in tally.items():
        if outcome.startswith("skipped:"):
            reason = outcome.split(":", 1)[1]
            skipped[reason] = skipped.get(reason, 0) + count
    launch.skipped = skipped  # a new dict, so the JSON column is written
    launch.scheduled += tally[MessageStatus.SCHEDULED.value]
    launch.held += tally[MessageStatus.HELD.value]
    launch.rows_written += sum(tally.values())
    launch.patients_planned += planned


def write_chunk(
    session: Session, campaign_id: uuid.UUID, *, now: datetime, ahead: timedelta, chunk: int
) -> bool:
    """Write the next chunk of a campaign's current window (opening one when due); False when caught up."""
    launch = session.exec(
        select(CampaignLaunch)
        .where(CampaignLaunch.campaign_id == campaign_id)
        .with_for_update(skip_locked=True)
    ).first()
    if launch is None or launch.status == LaunchStatus.DONE:
        return False
    campaign = session.get_one(Campaign, campaign_id)
    clinic = session.get_one(Clinic, campaign.clinic_id)
    steps = get_steps(session=session, campaign_id=campaign.id)
    if campaign.status == CampaignStatus.CANCELLED:
        launch.status, launch.updated_at = LaunchStatus.DONE, now
        session.add(launch)
        return False
    if launch.window_until is None:
        due = launch.materialized_until is None or launch.materialized_until < now + lead(clinic, ahead)
        if not due:
            return False
        launch.window_until = now + lead(clinic, ahead) + STRIDE
        if launch.status == LaunchStatus.QUEUED:
            launch.status = LaunchStatus.RUNNING
            launch.excluded = excluded_counts(session=session, campaign=campaign, now=now)
    window = Window(launch.materialized_until, launch.window_until, launch.cursor, launch.cursor_at)
    planner = Planner(clinic=clinic, campaign=campaign, steps=steps, now=now, launched_at=launch.launched_at)
    tally, planned, more = _chunk(session, launch, campaign, planner, window, chunk)
    _count(launch, tally, planned)
    if not more:
        launch.materialized_until, launch.window_until = window.end, None
        launch.cursor, launch.cursor_at = None, None
        final = last_target(campaign, steps, launch.launched_at)
        launch.status = LaunchStatus.DONE if final is not None and window.end > final else LaunchStatus.LIVE
    launch.updated_at = now
    session.add(launch)
    return True


def advance(
    *, engine: Engine, campaign_id: uuid.UUID, now: datetime, ahead: timedelta = AHEAD, chunk: int = CHUNK
) -> None:
    """Write a campaign's texts up to its window, a committed chunk at a time (another worker's: skipped)."""
    while True:
        with session_scope(engine) as session:
            if not write_chunk(session, campaign_id, now=now, ahead=ahead, chunk=chunk):
                return


def pending(*, session: Session) -> list[uuid.UUID]:
    """Campaigns whose launch may have texts left to write."""
    query = select(CampaignLaunch.campaign_id).where(CampaignLaunch.status != LaunchStatus.DONE)
    return list(session.exec(query.order_by(col(CampaignLaunch.launched_at))))


def run(*, engine: Engine, now: datetime, ahead: timedelta = AHEAD, chunk: int = CHUNK) -> int:
    """Advance every launched campaign's window; return how many campaigns were looked at."""
    with session_scope(engine) as session:
        campaigns = pending(session=session)
    for campaign_id in campaigns:
        advance(engine=engine, campaign_id=campaign_id, now=now, ahead=ahead, chunk=chunk)
    return len(campaigns)
