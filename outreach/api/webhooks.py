"""Twilio's calls to us: delivery status callbacks."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, Request, Response

from outreach.api.deps import SessionDep
from outreach.api.twilio_auth import VerifiedForm
from outreach.db import utcnow
from outreach.messaging.status import apply_status
from outreach.senders.accounts import message_account

router = APIRouter(prefix="/webhooks/twilio", tags=["webhooks"])


def _required(form: dict[str, str], name: str, max_len: int = 64) -> str:
    value = form.get(name, "").strip()
    if not value or len(value) > max_len:
        raise HTTPException(400, f"{name} is missing or too long")
    return value


@router.post("/status", summary="Twilio delivery status callback", status_code=204)
def status_callback(
    message_id: uuid.UUID, form: VerifiedForm, session: SessionDep, request: Request
) -> Response:
    code = form.get("ErrorCode", "").strip()
    if code and not code.isdigit():
        raise HTTPException(400, "ErrorCode must be a number")
    # A clinic's subaccount may report on its own texts only, never on another account's.
    signer = request.app.state.accounts.account(form.get("AccountSid", ""))
    if message_account(session, message_id) not in (None, signer):
        raise HTTPException(403, "AccountSid: the text went out from another account")
    apply_status(
        session=session,
        message_id=message_id,
        provider_sid=_required(form, "MessageSid"),
        provider_status=_required(form, "MessageStatus", 32),
        error_code=int(code) if code else None,
        now=utcnow(),
    )
    return Response(status_code=204)
