"""Which patients and visits a launch window reads: the window itself and its queries (no writes).

A window is a stretch of *target* time (when a step means to fire, before quiet hours move it). For
reminders it reads, per step, the visits whose start minus the step's offset falls in it, through the
index of upcoming visits by start; check-ins and broadcasts read every enrolled patient, only in the
windows a step can fire in.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Executable, Uuid, and_, any_, bindparam, false, or_, true, tuple_
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session, col

from outreach.campaigns.enrollment import can_text
from outreach.campaigns.models import Campaign, CampaignKind, CampaignStep, Enrollment
from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.patients.models import Appointment, AppointmentStatus, Patient

_SLACK = timedelta(days=2)  # a check-in's UTC moment is within a day of its local date, either way


@dataclass(frozen=True, slots=True)
class Window:
    """One stretch of target time being written, and where the last chunk ended."""

    start: datetime | None  # None: from the beginning (the first window also writes past sends)
    end: datetime
    cursor: uuid.UUID | None
    cursor_at: datetime | None


def may_fire(campaign: Campaign, step: CampaignStep, launched_at: datetime, window: Window) -> bool:
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
    """After this no check-in or broadcast step can fire (None for reminders and journeys)."""
    if campaign.kind == CampaignKind.REMINDER or campaign.anchor_event is not None:
        return None  # visits keep being booked, patients' events keep being recorded
    if campaign.kind == CampaignKind.BROADCAST:
        return max((s.send_at for s in steps if s.send_at is not None), default=launched_at) + _SLACK
    base = campaign.anchor_date or launched_at.date()
    days = max(
        ((s.first_after_days or 0) + (s.every_days or 0) * ((s.times or 1) - 1) for s in steps), default=0
    )
    return datetime.combine(base + timedelta(days=days + 1), datetime.min.time(), tzinfo=UTC) + _SLACK


def visits(
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


def patients(campaign: Campaign, window: Window, chunk: int) -> Executable:
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


def live_rows(session: Session, visit_ids: list[uuid.UUID]) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """(visit, step) pairs that already have a row that is not cancelled (a visit booked or moved since)."""
    if not visit_ids:
        return set()
    visit = col(OutboundMessage.appointment_id)
    # PostgreSQL: one array parameter, not thousands of bound values to spell out and parse.
    among = (
        visit == any_(bindparam("visits", visit_ids, type_=ARRAY(Uuid())))
        if session.get_bind().dialect.name == "postgresql"
        else visit.in_(visit_ids)
    )
    rows = session.execute(
        sa_select(visit, col(OutboundMessage.step_id)).where(
            among, col(OutboundMessage.status) != MessageStatus.CANCELLED
        )
    ).all()
    return {(row[0], row[1]) for row in rows}
