"""Claiming due texts for the workers: a pipeline step run by the scheduler tick.

Each function runs inside the tick's transaction (the caller's session) and is safe under concurrent
ticks: rows are taken with `FOR UPDATE SKIP LOCKED`, so two ticks never claim the same text. Consent,
cancelled visits, paused campaigns and quiet hours are checked again here, at claim time, because any of
them can change between planning and sending.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfoNotFoundError

from sqlalchemy import Exists, update
from sqlmodel import Session, col, select

from outreach.campaigns.models import Campaign, CampaignStatus
from outreach.clinics.models import Clinic
from outreach.messaging.models import CAMPAIGN_PAUSED, MessageStatus, OutboundMessage, status_is
from outreach.messaging.quiet_hours import next_allowed
from outreach.patients.models import Appointment, AppointmentStatus, ConsentStatus, Patient
from outreach.security import spend

UNKNOWN_ZONE = "unknown_time_zone"  # error_reason of texts held because the patient's stored zone is unknown


def claim_due(*, session: Session, now: datetime, limit: int) -> list[tuple[uuid.UUID, int]]:
    """Move due rows from scheduled to queued; return each (id, segments). Safe under concurrent ticks.

    Rows are locked a batch at a time, and only those rows are checked and settled: the work per claim
    is proportional to the batch, not to how many texts are due (a launch can make a million due at once).
    """
    claimed: list[tuple[uuid.UUID, int]] = []
    while len(claimed) < limit:
        due = (
            select(OutboundMessage.id)
            .where(status_is(MessageStatus.SCHEDULED), col(OutboundMessage.send_at) <= now)
            .order_by(col(OutboundMessage.send_at))
            .limit(limit - len(claimed))
            .with_for_update(skip_locked=True)
        )
        ids = list(session.execute(due).scalars())
        if not ids:
            break
        _settle_before_claim(session=session, ids=ids, now=now)
        rows = session.execute(
            update(OutboundMessage)
            .where(col(OutboundMessage.id).in_(ids), status_is(MessageStatus.SCHEDULED))
            .values(status=MessageStatus.QUEUED, updated_at=now)
            .returning(col(OutboundMessage.id), col(OutboundMessage.segments))
        ).all()
        claimed.extend((row[0], row[1]) for row in rows)
    quiet = _defer_quiet_hours(session=session, ids=[row[0] for row in claimed], now=now)
    due_now = [row for row in claimed if row[0] not in quiet]
    return spend.hold_over_cap(session=session, claimed=due_now, now=now)  # the clinic's daily cap


def _settle_before_claim(*, session: Session, ids: list[uuid.UUID], now: datetime) -> None:
    """Of these locked due rows, settle those that must not go any more.

    No consent, a cancelled visit, a paused or cancelled campaign: checked again here, not only when
    things change, because a change can commit between planning and sending (a STOP, a visit cancelled in
    the clinic's schedule, a campaign paused mid-run).
    """
    due = (col(OutboundMessage.id).in_(ids), status_is(MessageStatus.SCHEDULED))
    no_consent = select(Patient.id).where(
        col(Patient.id) == OutboundMessage.patient_id,
        (col(Patient.consent) != ConsentStatus.GRANTED) | col(Patient.undeliverable_reason).is_not(None),
    )
    cancelled_visit = select(Appointment.id).where(
        col(Appointment.id) == OutboundMessage.appointment_id,
        col(Appointment.status) == AppointmentStatus.CANCELLED,
    )

    def campaign_is(status: CampaignStatus) -> Exists:
        return (
            select(Campaign.id)
            .where(col(Campaign.id) == OutboundMessage.campaign_id, col(Campaign.status) == status)
            .exists()
        )

    for where, values in (
        (no_consent.exists(), _cancelled("patient has not agreed to get texts")),
        (cancelled_visit.exists(), _cancelled("the appointment was cancelled")),
        (campaign_is(CampaignStatus.CANCELLED), _cancelled("the campaign was cancelled")),
        (campaign_is(CampaignStatus.PAUSED), {"status": MessageStatus.HELD, "error_reason": CAMPAIGN_PAUSED}),
    ):
        session.execute(update(OutboundMessage).where(*due, where).values({**values, "updated_at": now}))


def _cancelled(reason: str) -> dict[str, object]:
    return {"status": MessageStatus.CANCELLED, "error_reason": reason}


def _defer_quiet_hours(*, session: Session, ids: list[uuid.UUID], now: datetime) -> set[uuid.UUID]:
    """Put back the claimed texts that would reach a patient during their quiet hours; return their ids.

    Checked again at claim time because a text can become due long after it was planned (a retry, a
    clinic that changed its hours). Replies to a patient who is texting with a coordinator are exempt.
    """
    if not ids:
        return set()
    rows = session.execute(
        select(col(OutboundMessage.id), col(Patient.timezone), col(Clinic.quiet_start), col(Clinic.quiet_end))
        .join(Patient, col(Patient.id) == OutboundMessage.patient_id)
        .join(Clinic, col(Clinic.id) == OutboundMessage.clinic_id)
        .where(col(OutboundMessage.id).in_(ids), OutboundMessage.kind != "reply")
    ).all()
    waking: dict[datetime, list[uuid.UUID]] = {}
    unknown_zone: list[uuid.UUID] = []
    for message_id, tz, start, end in rows:
        try:
            wake = next_allowed(now, tz=tz, start=start, end=end)
        except (ZoneInfoNotFoundError, ValueError):  # a stored zone this system no longer knows
            unknown_zone.append(message_id)
            continue
        if wake is not None:
            waking.setdefault(wake, []).append(message_id)
    if unknown_zone:  # the most restrictive answer: held for staff, never a guess at the patient's night
        session.execute(
            update(OutboundMessage)
            .where(col(OutboundMessage.id).in_(unknown_zone))
            .values(status=MessageStatus.HELD, error_reason=UNKNOWN_ZONE, updated_at=now)
        )
    for wake, ids_then in waking.items():  # one statement per morning, not per text
        session.execute(
            update(OutboundMessage)
            .where(col(OutboundMessage.id).in_(ids_then))
            .values(status=MessageStatus.SCHEDULED, send_at=wake, updated_at=now)
        )
    return {message_id for ids_then in waking.values() for message_id in ids_then} | set(unknown_zone)


def requeue_stranded(
    *, session: Session, now: datetime, older_than: timedelta, limit: int
) -> list[tuple[uuid.UUID, int]]:
    """Touch and return rows queued long ago whose task was lost (broker flushed): safe to enqueue again."""
    stranded = (
        select(OutboundMessage.id)
        .where(
            status_is(MessageStatus.QUEUED),
            col(OutboundMessage.updated_at) < now - older_than,
        )
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    touched = session.execute(
        update(OutboundMessage)
        .where(col(OutboundMessage.id).in_(stranded.scalar_subquery()))
        .values(updated_at=now)
        .returning(col(OutboundMessage.id), col(OutboundMessage.segments))
    )
    return [(row[0], row[1]) for row in touched]


def mark_stale_sending_unknown(*, session: Session, now: datetime, older_than: timedelta) -> int:
    """Rows stuck in `sending` (a worker died mid-call) become `unknown`: never resent blindly."""
    result = session.execute(
        update(OutboundMessage)
        .where(
            status_is(MessageStatus.SENDING),
            col(OutboundMessage.updated_at) < now - older_than,
        )
        .values(status=MessageStatus.UNKNOWN, error_reason="no answer from the gateway", updated_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
