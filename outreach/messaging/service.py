"""The outbox as a domain: one-off texts, reading a clinic's texts, cancelling unsent ones.

A domain service: each function takes a session, flushes, and leaves the commit to the request or task
that called it. Claiming and sending are pipelines with their own transactions (`scheduler`, `sender`,
`reconcile`); this module never calls them.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from outreach.errors import Conflict, Invalid
from outreach.i18n import count_segments, negotiate
from outreach.messaging.models import UNSENT, MessageStatus, OutboundMessage
from outreach.patients.models import ConsentStatus, Patient
from outreach.security import phi
from outreach.sms.base import MAX_BODY_CHARS
from outreach.tenancy import get_owned


def create_one_off(
    *,
    session: Session,
    clinic_id: uuid.UUID,
    patient_id: uuid.UUID,
    body: str,
    send_at: datetime | None,
    language: str | None,
    now: datetime,
    kind: str = "one_off",
    phi_override_reason: str | None = None,
    actor_key_id: uuid.UUID | None = None,
) -> OutboundMessage:
    """Schedule one text (a clinic's one-off, a coordinator's reply, ...) to one consenting patient."""
    patient = get_owned(session, Patient, patient_id, clinic_id=clinic_id, name="patient")
    if patient.consent != ConsentStatus.GRANTED:
        raise Conflict("the patient has not agreed to get texts (consent is not granted)")
    text = body.strip()
    if not text:
        raise Invalid("body", "must not be empty")
    if len(text) > MAX_BODY_CHARS:
        raise Invalid("body", f"is {len(text)} characters; the limit is {MAX_BODY_CHARS}")
    when = send_at or now
    if when.tzinfo is None:
        raise Invalid("send_at", "needs a time zone offset, for example 2026-03-03T14:30:00-05:00")
    if when < now - timedelta(minutes=1):
        raise Invalid("send_at", "is in the past")
    language = language or negotiate(patient.language).language
    phi.check_text(
        session=session, clinic_id=clinic_id, text=text, language=language, field="body",
        override_reason=phi_override_reason, key_id=actor_key_id, lint=kind != "reply",
    )  # fmt: skip
    segments = count_segments(text)
    message = OutboundMessage(
        clinic_id=clinic_id,
        patient_id=patient.id,
        kind=kind,
        send_at=when,
        language=language,
        body=text,
        segments=segments.segments,
        encoding=segments.encoding,
        created_at=now,
        updated_at=now,
    )
    session.add(message)
    session.flush()
    return message


def get_message(*, session: Session, clinic_id: uuid.UUID, message_id: uuid.UUID) -> OutboundMessage:
    """One of the clinic's texts."""
    return get_owned(session, OutboundMessage, message_id, clinic_id=clinic_id, name="message")


def list_messages(
    *, session: Session, clinic_id: uuid.UUID, patient_id: uuid.UUID | None, limit: int, offset: int
) -> list[OutboundMessage]:
    """The clinic's texts, newest first."""
    query = select(OutboundMessage).where(OutboundMessage.clinic_id == clinic_id)
    if patient_id is not None:
        query = query.where(OutboundMessage.patient_id == patient_id)
    query = query.order_by(col(OutboundMessage.send_at).desc()).offset(offset).limit(limit)
    return list(session.exec(query))


def cancel_unsent(*, session: Session, patient_id: uuid.UUID, reason: str, now: datetime) -> int:
    """Cancel a patient's texts that have not reached a worker's gateway call yet."""
    result = session.execute(
        update(OutboundMessage)
        .where(col(OutboundMessage.patient_id) == patient_id, col(OutboundMessage.status).in_(UNSENT))
        .values(status=MessageStatus.CANCELLED, error_reason=reason[:255], updated_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
