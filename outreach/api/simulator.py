"""The simulator's phones (only with the simulator gateway, never in production): what each of the
caller's clinic's patients received and sent, and a way to reply as one of them that goes through the
real, signed inbound webhook exactly as Twilio would call it. A key of that clinic (or a signed-in web
session) is required; another clinic's phone is not found."""

from __future__ import annotations

import re
import secrets
import uuid
from html import unescape
from typing import Any

import httpx
from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, or_, select

from outreach.api.deps import SessionDep, SettingsDep
from outreach.clinics.models import Clinic
from outreach.config import Settings, webhook_token
from outreach.inbox.models import InboundMessage
from outreach.messaging.models import OutboundMessage
from outreach.patients.models import Patient
from outreach.security.crypto import indexed
from outreach.security.simulator_access import SimulatorClinic
from outreach.sms.base import MAX_BODY_CHARS
from outreach.sms.models import SimulatedSms
from outreach.sms.twilio import sign_request

router = APIRouter(prefix="/simulator", tags=["simulator"])
_MESSAGE = re.compile(r"<Message>(.*?)</Message>", re.DOTALL)


class PhoneReply(BaseModel):
    """What the simulated patient types."""

    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=MAX_BODY_CHARS)


@router.get("/phones", summary="Texts received and sent by each of the clinic's simulated phones")
def phones(session: SessionDep, clinic_id: SimulatorClinic) -> dict[str, list[dict[str, Any]]]:
    numbers = select(Patient.phone_hash).where(Patient.clinic_id == clinic_id)
    inbox: dict[str, list[dict[str, Any]]] = {}
    # The clinic's own texts, and TwiML answers (which have no outbox row) to its patients' numbers.
    received = (
        select(SimulatedSms)
        .outerjoin(OutboundMessage, col(OutboundMessage.id) == SimulatedSms.message_id)
        .where(
            or_(
                col(OutboundMessage.clinic_id) == clinic_id,
                col(OutboundMessage.id).is_(None) & col(SimulatedSms.to_hash).in_(numbers),
            )
        )
        .order_by(col(SimulatedSms.created_at))
        .limit(2000)
    )
    for sms in session.exec(received):
        inbox.setdefault(sms.to, []).append(
            {"direction": "in", "body": sms.body, "at": sms.created_at.isoformat()}
        )
    replies = (
        select(InboundMessage)
        .where(InboundMessage.clinic_id == clinic_id)
        .order_by(col(InboundMessage.received_at))
        .limit(2000)
    )
    for sent in session.exec(replies):
        inbox.setdefault(sent.from_phone, []).append(
            {"direction": "out", "body": sent.body, "at": sent.received_at.isoformat(), "kind": sent.kind}
        )
    return {phone: sorted(texts, key=lambda t: str(t["at"])) for phone, texts in inbox.items()}


@router.post("/phones/{phone}/reply", summary="Reply from a simulated phone through the real inbound webhook")
def reply(
    phone: str, data: PhoneReply, session: SessionDep, settings: SettingsDep, clinic_id: SimulatorClinic
) -> dict[str, str | None]:
    patient = session.exec(
        select(Patient).where(Patient.clinic_id == clinic_id, indexed(col(Patient.phone_hash), phone))
    ).first()
    clinic = session.get(Clinic, clinic_id) if patient else None
    if patient is None or clinic is None:
        raise HTTPException(404, "this clinic has no simulated phone with that number")
    answer = _call_webhook(settings, sender=phone, clinic_phone=clinic.phone, body=data.body)
    if answer:
        _deliver(session, to=phone, body=answer)
    return {"answer": answer}


def _call_webhook(settings: Settings, *, sender: str, clinic_phone: str, body: str) -> str | None:
    url = settings.public_base_url.rstrip("/") + "/webhooks/twilio/sms"
    form = {"MessageSid": "SM" + secrets.token_hex(16), "From": sender, "To": clinic_phone, "Body": body}
    signature = sign_request(auth_token=webhook_token(settings), url=url, params=form)
    response = httpx.post(url, data=form, headers={"X-Twilio-Signature": signature}, timeout=10)
    if response.status_code != 200:
        raise HTTPException(502, f"the inbound webhook answered {response.status_code}")
    found = _MESSAGE.search(response.text)
    return unescape(found.group(1)) if found else None


def _deliver(session: Session, *, to: str, body: str) -> None:
    """The TwiML answer reaches the phone as Twilio would deliver it (it has no outbox row of its own)."""
    session.add(
        SimulatedSms(provider_sid="SM" + secrets.token_hex(16), message_id=uuid.uuid4(), to=to, body=body)
    )
