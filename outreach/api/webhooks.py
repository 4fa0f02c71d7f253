"""Twilio's calls to us: delivery status callbacks."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, Response

from outreach.api.deps import SessionDep
from outreach.api.twilio_auth import VerifiedForm
from outreach.db import utcnow
from outreach.messaging.status import apply_status

router = APIRouter(prefix="/webhooks/twilio", tags=["webhooks"])


def _required(form: dict[str, str], name: str, max_len: int = 64) -> str:
    value = form.get(name, "").strip()
    if not value or len(value) > max_len:
        raise HTTPException(400, f"{name} is missing or too long")
    return value


@router.post("/status", summary="Twilio delivery status callback", status_code=204)
def status_callback(message_id: uuid.UUID, form: VerifiedForm, session: SessionDep) -> Response:
    code = form.get("ErrorCode", "").strip()
    if code and not code.isdigit():
        raise HTTPException(400, "ErrorCode must be a number")
    apply_status(
        session=session,
        message_id=message_id,
        provider_sid=_required(form, "MessageSid"),
        provider_status=_required(form, "MessageStatus", 32),
        error_code=int(code) if code else None,
        now=utcnow(),
    )
    return Response(status_code=204)
