"""Twilio's inbound SMS webhook: signed, stored once, answered with TwiML in the patient's language."""

from __future__ import annotations

from xml.sax.saxutils import escape

from fastapi import APIRouter, HTTPException, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine
from sqlmodel import Session

from outreach.api.deps import EngineDep
from outreach.api.twilio_auth import VerifiedForm
from outreach.db import utcnow
from outreach.inbox.service import DuplicateInbound, IncomingSms, receive

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
async def inbound_sms(form: VerifiedForm, engine: EngineDep) -> Response:
    sms = IncomingSms(
        sid=_field(form, "MessageSid"),
        from_phone=_field(form, "From"),
        to_phone=_field(form, "To"),
        body=_field(form, "Body"),
    )
    # The whole unit of work in one trip to the thread pool (the busiest route on the service); it is
    # committed before the answer goes out, so a STOP that Twilio sees acknowledged has taken effect.
    return _twiml(await run_in_threadpool(_receive_and_commit, engine, sms))


def _receive_and_commit(engine: Engine, sms: IncomingSms) -> str | None:
    with Session(engine, expire_on_commit=False) as session:
        try:
            received = receive(session=session, sms=sms, now=utcnow())
            session.commit()
        except DuplicateInbound:  # a replayed SID: 200 with no second effect
            session.rollback()
            return None
    return received.reply
