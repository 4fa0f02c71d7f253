"""Retention: after a clinic's number of days, the words of its texts are removed; the facts stay.

A periodic job replaces the body of every text sent (or settled) before the cutoff, every inbound text
and every note or reply in the coordinator queue with a marker. Status, language, segments, kind,
answers, priorities and times stay, so the outcome report counts the same rows afterwards. Texts not
yet sent keep their body until they are. Each run that removes anything leaves one audit row per clinic.
The statements are idempotent, so two overlapping runs do no harm and need no lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from outreach.clinics.models import Clinic
from outreach.inbox.models import InboundMessage, ThreadEvent
from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.security import audit
from outreach.security.policy import policy_for

PURGED = "[removed after the retention period]"
SETTLED = (
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.FAILED,
    MessageStatus.UNKNOWN,
    MessageStatus.CANCELLED,
    MessageStatus.SKIPPED,
)


@dataclass(frozen=True, slots=True)
class Purged:
    """What one clinic's run removed."""

    outbound: int
    inbound: int
    notes: int


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def purge_clinic(*, session: Session, clinic_id: object, cutoff: datetime) -> Purged:
    """Replace the bodies older than `cutoff` in one clinic's texts and queue with the marker."""
    outbound = session.execute(
        update(OutboundMessage)
        .where(
            col(OutboundMessage.clinic_id) == clinic_id,
            col(OutboundMessage.created_at) < cutoff,
            col(OutboundMessage.status).in_(SETTLED),
            col(OutboundMessage.body) != PURGED,
        )
        .values(body=PURGED)
    )
    inbound = session.execute(
        update(InboundMessage)
        .where(
            col(InboundMessage.clinic_id) == clinic_id,
            col(InboundMessage.received_at) < cutoff,
            col(InboundMessage.body) != PURGED,
        )
        .values(body=PURGED)
    )
    notes = session.execute(
        update(ThreadEvent)
        .where(
            col(ThreadEvent.clinic_id) == clinic_id,
            col(ThreadEvent.at) < cutoff,
            col(ThreadEvent.body).is_not(None),
            col(ThreadEvent.body) != PURGED,
        )
        .values(body=PURGED)
    )
    return Purged(_rowcount(outbound), _rowcount(inbound), _rowcount(notes))


def purge(*, session: Session, now: datetime) -> dict[str, int]:
    """Apply every clinic's retention; return the totals removed."""
    totals = {"outbound": 0, "inbound": 0, "notes": 0}
    for clinic_id in session.exec(select(Clinic.id)).all():
        days = policy_for(session=session, clinic_id=clinic_id).retention_days
        done = purge_clinic(session=session, clinic_id=clinic_id, cutoff=now - timedelta(days=days))
        counts = f"{done.outbound} sent, {done.inbound} received, {done.notes} notes"
        if done.outbound or done.inbound or done.notes:
            audit.record(
                session=session,
                clinic_id=clinic_id,
                key_id=None,
                channel="system",
                action="retention_purge",
                reason=f"older than {days} days: {counts}",
                now=now,
            )
        totals["outbound"] += done.outbound
        totals["inbound"] += done.inbound
        totals["notes"] += done.notes
    return totals
