"""What a coordinator reads around a thread: its patient's next visit, its campaign, the texts its replies
answer, saved replies as this patient would get them, and the texts the webhook handled by itself."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from outreach.campaigns.models import Campaign
from outreach.clinics.models import Clinic
from outreach.errors import DomainError
from outreach.i18n import Segments, TemplateKey, count_segments
from outreach.inbox import coordinator
from outreach.inbox.models import InboundKind, InboundMessage, Priority
from outreach.inbox.triage import next_appointment
from outreach.messaging.models import OutboundMessage
from outreach.patients.models import Appointment, Patient
from outreach.tenancy import find_owned


@dataclass(frozen=True, slots=True)
class ThreadContext:
    """What the thread page shows beside the conversation: the next visit, the campaign, what was answered."""

    appointment: Appointment | None
    campaign_name: str | None
    patient_timezone: str | None
    # An inbound text (by when it arrived and what it said) → the clinic text it answers.
    answered: dict[tuple[datetime, str], str]
    # An inbound text → what outreach answered by itself (help, the emergency reply, a confirmation).
    automatic: dict[tuple[datetime, str], str] = field(default_factory=dict)


def thread_context(
    *,
    session: Session,
    clinic_id: uuid.UUID,
    thread_id: uuid.UUID,
    patient_id: uuid.UUID | None,
    campaign_id: uuid.UUID | None,
    now: datetime,
) -> ThreadContext:
    """The thread's patient's next visit, its campaign's name, and the texts its replies answer."""
    patient = session.get(Patient, patient_id) if patient_id else None
    visit = next_appointment(session=session, patient=patient, now=now) if patient else None
    campaign = find_owned(session, Campaign, campaign_id, clinic_id=clinic_id) if campaign_id else None
    rows = session.exec(
        select(InboundMessage.received_at, InboundMessage.body, OutboundMessage.body)
        .join(OutboundMessage, col(OutboundMessage.id) == InboundMessage.in_reply_to_id)
        .where(InboundMessage.clinic_id == clinic_id, InboundMessage.thread_id == thread_id)
    ).all()
    automatic = session.exec(
        select(InboundMessage.received_at, InboundMessage.body, InboundMessage.reply_body).where(
            InboundMessage.clinic_id == clinic_id,
            InboundMessage.thread_id == thread_id,
            col(InboundMessage.reply_body).is_not(None),
        )
    ).all()
    return ThreadContext(
        appointment=visit,
        campaign_name=campaign.name if campaign else None,
        patient_timezone=patient.timezone if patient else None,
        answered={(at, body): sent for at, body, sent in rows},
        automatic={(at, body): reply for at, body, reply in automatic if reply},
    )


@dataclass(frozen=True, slots=True)
class CannedPreview:
    """A saved reply as this patient would get it, or why it cannot be sent to them."""

    body: str | None
    language: str | None
    segments: Segments | None
    problem: str | None = None


def canned_preview(
    *, session: Session, clinic: Clinic, thread_id: uuid.UUID, template: TemplateKey, now: datetime
) -> CannedPreview:
    """A saved reply rendered as `reply` would send it on this thread (NotFound for another clinic's)."""
    thread = coordinator.load(session=session, clinic_id=clinic.id, thread_id=thread_id)
    patient = session.get(Patient, thread.patient_id) if thread.patient_id else None
    if patient is None:
        return CannedPreview(
            None, None, None, "No patient has this number, so saved replies cannot be filled in."
        )
    try:
        # The reply action's own renderer (private today), so the preview never differs from what is sent.
        body, language = coordinator.canned(
            session=session, template=template, clinic=clinic, patient=patient, now=now
        )
    except DomainError as exc:
        return CannedPreview(None, None, None, exc.detail)
    return CannedPreview(body, language, count_segments(body))


@dataclass(frozen=True, slots=True)
class AutoHandled:
    """A patient's text the webhook answered by itself (opt-out, HELP, a confirmation), for the queue page."""

    patient_name: str
    phone: str
    language: str
    kind: InboundKind
    at: datetime


# What the webhook answers by itself; everything else reaches a person through the queue.
AUTO_HANDLED = (
    InboundKind.OPTOUT, InboundKind.OPTIN, InboundKind.HELP, InboundKind.CONFIRM, InboundKind.CHECKIN_ANSWER,
)  # fmt: skip


def handled_automatically(
    *, session: Session, clinic_id: uuid.UUID, since: datetime, limit: int = 8
) -> list[AutoHandled]:
    """The clinic's newest texts that needed no person, newest first."""
    rows = session.exec(
        select(InboundMessage, Patient.given_name, Patient.family_name)
        .join(Patient, col(Patient.id) == InboundMessage.patient_id)
        .where(
            InboundMessage.clinic_id == clinic_id,
            col(InboundMessage.kind).in_(AUTO_HANDLED),
            InboundMessage.priority == Priority.NORMAL,  # a check-in "worse" (high) went to the queue
            col(InboundMessage.received_at) >= since,
        )
        .order_by(col(InboundMessage.received_at).desc())
        .limit(limit)
    ).all()
    return [
        AutoHandled(f"{given} {family}".strip(), m.from_phone, m.language, m.kind, m.received_at)
        for m, given, family in rows
    ]
