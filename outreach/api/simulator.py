"""The simulator's phones (only with the simulator gateway): what each number received and sent, and a
way to reply that goes through the real, signed inbound webhook exactly as Twilio would call it."""

from __future__ import annotations

import re
import secrets
import uuid
from html import unescape
from typing import Any

import httpx
from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, select

from outreach.api.deps import SessionDep, SettingsDep
from outreach.clinics.models import Clinic
from outreach.config import Settings, webhook_token
from outreach.inbox.models import InboundMessage
from outreach.patients.models import Patient
from outreach.sms.base import MAX_BODY_CHARS
from outreach.sms.models import SimulatedSms
from outreach.sms.twilio import sign_request

router = APIRouter(prefix="/simulator", tags=["simulator"])
_MESSAGE = re.compile(r"<Message>(.*?)</Message>", re.DOTALL)


class PhoneReply(BaseModel):
    """What the simulated patient types."""

    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=MAX_BODY_CHARS)


def _require_simulator(settings: Settings) -> None:
    if settings.gateway != "simulator":
        raise HTTPException(404, "the simulator is off (OUTREACH_GATEWAY is not simulator)")


@router.get("/phones", summary="Texts received and sent by each simulated phone")
def phones(session: SessionDep, settings: SettingsDep) -> dict[str, list[dict[str, Any]]]:
    _require_simulator(settings)
    inbox: dict[str, list[dict[str, Any]]] = {}
    for sms in session.exec(select(SimulatedSms).order_by(col(SimulatedSms.created_at)).limit(2000)):
        inbox.setdefault(sms.to, []).append(
            {"direction": "in", "body": sms.body, "at": sms.created_at.isoformat()}
        )
    for sent in session.exec(select(InboundMessage).order_by(col(InboundMessage.received_at)).limit(2000)):
        inbox.setdefault(sent.from_phone, []).append(
            {"direction": "out", "body": sent.body, "at": sent.received_at.isoformat(), "kind": sent.kind}
        )
    return {phone: sorted(texts, key=lambda t: str(t["at"])) for phone, texts in inbox.items()}


@router.post("/phones/{phone}/reply", summary="Reply from a simulated phone through the real inbound webhook")
def reply(phone: str, data: PhoneReply, session: SessionDep, settings: SettingsDep) -> dict[str, str | None]:
    _require_simulator(settings)
    patient = session.exec(select(Patient).where(Patient.phone == phone)).first()
    clinic = session.get(Clinic, patient.clinic_id) if patient else None
    if patient is None or clinic is None:
        raise HTTPException(404, "no simulated phone has that number")
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
