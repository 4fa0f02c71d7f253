"""Twilio's inbound SMS webhook: signed, stored once, answered with TwiML in the patient's language."""

from __future__ import annotations

from xml.sax.saxutils import escape

from fastapi import APIRouter, HTTPException, Request, Response

from outreach.api.twilio_auth import VerifiedForm
from outreach.inbox.service import IncomingSms

router = APIRouter(prefix="/webhooks/twilio", tags=["webhooks"])

_LIMITS = {"MessageSid": 64, "From": 32, "To": 32, "Body": 1600}


def _twiml(reply: str | None) -> Response:
    inner = f"<Message>{escape(reply)}</Message>" if reply else ""
    return Response(
        f'<?xml version="1.0" encoding="UTF-8"?><Response>{inner}</Response>', media_type="text/xml"
    )


def _field(form: dict[str, str], name: str) -> str:
    value = form.get(name)
    if value is None or (name != "Body" and not value.strip()):
        raise HTTPException(400, f"{name} is missing")
    if len(value) > _LIMITS[name]:
        raise HTTPException(400, f"{name} is longer than {_LIMITS[name]} characters")
    return value.strip() if name != "Body" else value


@router.post("/sms", summary="A patient's text to a clinic number (Twilio inbound webhook)")
async def inbound_sms(form: VerifiedForm, request: Request) -> Response:
    sms = IncomingSms(
        sid=_field(form, "MessageSid"),
        from_phone=_field(form, "From"),
        to_phone=_field(form, "To"),
        body=_field(form, "Body"),
    )
    # Committed before the answer goes out, so a STOP that Twilio sees acknowledged has taken effect;
    # a replayed SID (None) gets an empty answer and no second effect.
    received = await request.app.state.receiver.receive(sms)
    return _twiml(received.reply if received else None)
