"""Twilio status callbacks applied to the outbox: monotonic, idempotent, reconciling `unknown`."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from sqlmodel import Session, select

from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.patients.models import Patient
from outreach.patients.service import mark_undeliverable, opt_out
from outreach.sms.twilio_errors import describe

log = logging.getLogger(__name__)

# Higher wins: a late "sent" never overwrites "delivered", and duplicates change nothing.
_RANK = {
    MessageStatus.SCHEDULED: 0,
    MessageStatus.QUEUED: 1,
    MessageStatus.SENDING: 2,
    MessageStatus.UNKNOWN: 3,
    MessageStatus.CANCELLED: 3,
    MessageStatus.SKIPPED: 3,
    MessageStatus.SENT: 4,
    MessageStatus.DELIVERED: 5,
    MessageStatus.FAILED: 5,
}

# Any Twilio status at all proves the request arrived, so even "queued" reconciles an unknown row.
_FROM_TWILIO = {
    "accepted": MessageStatus.SENT,
    "scheduled": MessageStatus.SENT,
    "queued": MessageStatus.SENT,
    "sending": MessageStatus.SENT,
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.DELIVERED,
    "undelivered": MessageStatus.FAILED,
    "failed": MessageStatus.FAILED,
    "canceled": MessageStatus.FAILED,
}


def apply_status(
    *,
    session: Session,
    message_id: uuid.UUID,
    provider_sid: str,
    provider_status: str,
    error_code: int | None,
    now: datetime,
) -> str:
    """Move a text forward to what the provider reports; return what happened."""
    target = _FROM_TWILIO.get(provider_status.lower())
    if target is None:
        return "ignored: unknown provider status"
    message = session.exec(
        select(OutboundMessage).where(OutboundMessage.id == message_id).with_for_update()
    ).first()
    if message is None:
        return "ignored: no such message"
    if message.provider_sid is None:
        message.provider_sid = provider_sid
    elif message.provider_sid != provider_sid:
        return "ignored: the SID does not match"
    current = MessageStatus(message.status)
    if _RANK[target] <= _RANK[current]:
        session.add(message)
        return "ignored: not newer"
    message.status, message.updated_at = target, now
    if current in (MessageStatus.SENDING, MessageStatus.UNKNOWN) and message.sent_at is None:
        message.sent_at = now
    if target == MessageStatus.FAILED:
        record_failure(session=session, message=message, code=error_code, now=now)
    session.add(message)
    return f"{current.value} -> {target.value}"


def record_failure(*, session: Session, message: OutboundMessage, code: int | None, now: datetime) -> None:
    """Store the plain-language reason; a carrier opt-out or a dead number also changes the patient."""
    info = describe(code)
    message.error_code, message.error_reason = code, info.reason[:255]
    patient = session.get(Patient, message.patient_id)
    if patient is None:
        return
    if info.category == "opted_out":
        opt_out(session=session, patient=patient, source=f"carrier opt-out (error {code})", now=now)
    elif info.category == "undeliverable":
        mark_undeliverable(session=session, patient=patient, reason=info.reason, now=now)
    log.info("message %s failed with code %s (%s)", message.id, code, info.category)
