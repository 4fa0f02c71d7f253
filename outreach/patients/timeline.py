"""Everything a clinic and one patient said to each other, oldest first: texts sent (campaigns, one-off
texts, the care team's replies), texts received, and what outreach answered by itself (opt-out and opt-in
confirmations, help, the emergency reply)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from outreach.inbox.models import InboundMessage
from outreach.messaging.models import OutboundMessage
from outreach.patients.service import get_patient

MAX_ENTRIES = 500


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One text: which way it went, when, its words, and for a sent one its status and kind."""

    direction: str  # "sent", "received" or "automatic"
    at: datetime
    body: str
    language: str
    kind: str
    status: str | None = None
    reason: str | None = None
    campaign_id: uuid.UUID | None = None


def patient_timeline(*, session: Session, clinic_id: uuid.UUID, patient_id: uuid.UUID) -> list[TimelineEntry]:
    """The patient's texts both ways (the newest MAX_ENTRIES of each), oldest first."""
    get_patient(session=session, clinic_id=clinic_id, patient_id=patient_id)
    sent = session.exec(
        select(OutboundMessage)
        .where(OutboundMessage.clinic_id == clinic_id, OutboundMessage.patient_id == patient_id)
        .order_by(col(OutboundMessage.send_at).desc())
        .limit(MAX_ENTRIES)
    ).all()
    received = session.exec(
        select(InboundMessage)
        .where(InboundMessage.clinic_id == clinic_id, InboundMessage.patient_id == patient_id)
        .order_by(col(InboundMessage.received_at).desc())
        .limit(MAX_ENTRIES)
    ).all()
    entries = [
        TimelineEntry(
            direction="sent",
            at=m.sent_at or m.send_at,
            body=m.body,
            language=m.language,
            kind=m.kind,
            status=str(m.status),
            reason=m.error_reason,
            campaign_id=m.campaign_id,
        )
        for m in sent
    ]
    for m in received:
        entries.append(TimelineEntry("received", m.received_at, m.body, m.language, str(m.kind)))
        if m.reply_body:
            entries.append(TimelineEntry("automatic", m.received_at, m.reply_body, m.language, str(m.kind)))
    # Stable: an automatic answer stays right after the text it answered.
    return sorted(entries, key=lambda e: e.at)
