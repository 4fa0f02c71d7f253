"""What the web pages read and write that no domain service offers: session checks and simulated phones."""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from html import unescape

import httpx
from sqlalchemy import func
from sqlmodel import Session, col, select

from outreach.api.twilio_auth import webhook_token
from outreach.campaigns.models import Campaign, Enrollment
from outreach.clinics.models import ApiKey, Clinic, Role
from outreach.config import Settings
from outreach.errors import DomainError
from outreach.i18n import Segments, TemplateKey, count_segments
from outreach.inbox import actions
from outreach.inbox.models import InboundKind, InboundMessage, Priority
from outreach.inbox.triage import next_appointment
from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.patients.models import Appointment, Patient
from outreach.patients.service import get_patient
from outreach.sms.models import SimulatedSms
from outreach.sms.twilio import sign_request

WEBHOOK_PATH = "/webhooks/twilio/sms"
_MESSAGE = re.compile(r"<Message>(.*?)</Message>", re.DOTALL)


class WebhookRefused(Exception):
    """The inbound webhook did not accept a simulated reply (its status code says why)."""


def active_clinic(*, session: Session, key_id: uuid.UUID, clinic_id: uuid.UUID, role: Role) -> Clinic | None:
    """The clinic a session acts for, or None once its key is revoked (signing the person out)."""
    key = session.get(ApiKey, key_id)
    if key is None or key.revoked_at is not None or key.clinic_id != clinic_id or key.role != role:
        return None
    return session.get(Clinic, clinic_id)


@dataclass(frozen=True, slots=True)
class PhoneText:
    """One text on a simulated phone: `received` came from the clinic, `sent` is the patient's reply."""

    direction: str
    body: str
    at: datetime
    kind: str | None = None


@dataclass(slots=True)
class Phone:
    """A demo patient's simulated phone and its texts, oldest first."""

    patient: Patient
    texts: list[PhoneText] = field(default_factory=list)


def phones(*, session: Session, clinic_id: uuid.UUID, limit: int = 50, texts_each: int = 50) -> list[Phone]:
    """The clinic's patients' phones with what each received and sent (the newest `texts_each`)."""
    patients = session.exec(
        select(Patient).where(Patient.clinic_id == clinic_id).order_by(col(Patient.external_id)).limit(limit)
    ).all()
    by_phone = {p.phone: Phone(patient=p) for p in patients}
    numbers = list(by_phone)
    for sms in session.exec(
        select(SimulatedSms).where(col(SimulatedSms.to).in_(numbers)).order_by(col(SimulatedSms.created_at))
    ):
        by_phone[sms.to].texts.append(PhoneText("received", sms.body, sms.created_at))
    for sent in session.exec(
        select(InboundMessage).where(
            InboundMessage.clinic_id == clinic_id, col(InboundMessage.from_phone).in_(numbers)
        )
    ):
        by_phone[sent.from_phone].texts.append(PhoneText("sent", sent.body, sent.received_at, sent.kind))
    for phone in by_phone.values():
        phone.texts = sorted(phone.texts, key=lambda t: t.at)[-texts_each:]
    return list(by_phone.values())


def sign_webhook(*, settings: Settings, url: str, params: dict[str, str]) -> str:
    """The X-Twilio-Signature Twilio would send for this request."""
    return sign_request(auth_token=webhook_token(settings), url=url, params=params)


def reply_from_phone(
    *, session: Session, settings: Settings, clinic: Clinic, patient_id: uuid.UUID, body: str
) -> str | None:
    """Send a patient's text through the real signed inbound webhook; the answer lands on the phone."""
    patient = get_patient(session=session, clinic_id=clinic.id, patient_id=patient_id)
    url = settings.public_base_url.rstrip("/") + WEBHOOK_PATH
    form = {
        "MessageSid": "SM" + secrets.token_hex(16),
        "From": patient.phone,
        "To": clinic.phone,
        "Body": body,
    }
    signature = sign_webhook(settings=settings, url=url, params=form)
    response = httpx.post(url, data=form, headers={"X-Twilio-Signature": signature}, timeout=10)
    if response.status_code != 200:
        raise WebhookRefused(str(response.status_code))
    found = _MESSAGE.search(response.text)
    answer = unescape(found.group(1)) if found else None
    if answer:
        # Twilio delivers a TwiML answer itself (no outbox row), so the phone gets it directly.
        session.add(
            SimulatedSms(
                provider_sid="SM" + secrets.token_hex(16),
                message_id=uuid.uuid4(),
                to=patient.phone,
                body=answer,
            )
        )
    return answer


# How the campaign list groups outbox statuses; the campaign page shows every status.
DELIVERY_GROUPS: dict[str, tuple[MessageStatus, ...]] = {
    "scheduled": (MessageStatus.SCHEDULED, MessageStatus.QUEUED, MessageStatus.HELD),
    "sent": (MessageStatus.SENDING, MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.UNKNOWN),
    "delivered": (MessageStatus.DELIVERED,),
    "failed": (MessageStatus.FAILED,),
    "not_sent": (MessageStatus.CANCELLED, MessageStatus.SKIPPED),
}


def delivery_figures(
    *, session: Session, clinic_id: uuid.UUID, campaign_ids: list[uuid.UUID]
) -> dict[uuid.UUID, dict[str, int]]:
    """Texts per outbox status for each campaign (one grouped query for the whole page)."""
    figures: dict[uuid.UUID, dict[str, int]] = {c: {} for c in campaign_ids}
    if not campaign_ids:
        return figures
    rows = session.exec(
        select(OutboundMessage.campaign_id, OutboundMessage.status, func.count())
        .where(OutboundMessage.clinic_id == clinic_id, col(OutboundMessage.campaign_id).in_(campaign_ids))
        .group_by(col(OutboundMessage.campaign_id), col(OutboundMessage.status))
    ).all()
    for campaign_id, status, count in rows:
        if campaign_id is not None:
            figures[campaign_id][str(status)] = int(count)
    return figures


def grouped(figures: dict[str, int]) -> dict[str, int]:
    """A campaign's per-status counts folded into the list page's columns, plus the total."""
    out = {name: sum(figures.get(s.value, 0) for s in statuses) for name, statuses in DELIVERY_GROUPS.items()}
    out["total"] = sum(figures.values())
    return out


def enrolled_counts(*, session: Session, campaign_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """How many patients each campaign has enrolled."""
    if not campaign_ids:
        return {}
    rows = session.exec(
        select(Enrollment.campaign_id, func.count())
        .where(col(Enrollment.campaign_id).in_(campaign_ids))
        .group_by(col(Enrollment.campaign_id))
    ).all()
    return {campaign_id: int(count) for campaign_id, count in rows}


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
    campaign = session.get(Campaign, campaign_id) if campaign_id else None
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
        campaign_name=campaign.name if campaign and campaign.clinic_id == clinic_id else None,
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
    thread = actions.load(session=session, clinic_id=clinic.id, thread_id=thread_id)
    patient = session.get(Patient, thread.patient_id) if thread.patient_id else None
    if patient is None:
        return CannedPreview(
            None, None, None, "No patient has this number, so saved replies cannot be filled in."
        )
    try:
        # The reply action's own renderer (private today), so the preview never differs from what is sent.
        body, language = actions.canned(
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
