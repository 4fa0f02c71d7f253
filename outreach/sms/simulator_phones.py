"""The simulator's phones: the texts each patient's phone has, and replying as a patient.

A reply goes through the real signed inbound webhook over HTTP, so the simulator exercises the same path
Twilio does.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from html import unescape

import httpx
from sqlmodel import Session, col, select

from outreach.clinics.models import Clinic
from outreach.config import Settings, webhook_token
from outreach.inbox.models import InboundMessage
from outreach.patients.models import Patient
from outreach.patients.service import get_patient
from outreach.sms.models import SimulatedSms
from outreach.sms.twilio import sign_request

WEBHOOK_PATH = "/webhooks/twilio/sms"
_MESSAGE = re.compile(r"<Message>(.*?)</Message>", re.DOTALL)


class WebhookRefused(Exception):
    """The inbound webhook did not accept a simulated reply (its status code says why)."""


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
    # Numbers are stored encrypted: a simulated text is found by its number's blind index, a reply by
    # the patient it came from.
    by_hash = {p.phone_hash: Phone(patient=p) for p in patients}
    by_patient = {p.id: by_hash[p.phone_hash] for p in patients}
    for sms in session.exec(
        select(SimulatedSms)
        .where(col(SimulatedSms.to_hash).in_(list(by_hash)))
        .order_by(col(SimulatedSms.created_at))
    ):
        by_hash[sms.to_hash].texts.append(PhoneText("received", sms.body, sms.created_at))
    for sent in session.exec(
        select(InboundMessage).where(
            InboundMessage.clinic_id == clinic_id, col(InboundMessage.patient_id).in_(list(by_patient))
        )
    ):
        owner = by_patient[sent.patient_id]  # type: ignore[index]  # the query asked for these patients
        owner.texts.append(PhoneText("sent", sent.body, sent.received_at, sent.kind))
    for phone in by_hash.values():
        phone.texts = sorted(phone.texts, key=lambda t: t.at)[-texts_each:]
    return list(by_hash.values())


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
