"""Helpers for sender tests: senders through the service, webhooks signed by a chosen account."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from twilio.request_validator import RequestValidator

from outreach.clinics.models import Clinic
from outreach.config import Settings
from outreach.db import session_scope, utcnow
from outreach.senders import service
from outreach.senders.models import Sender
from outreach.senders.schemas import SenderCreate

PATH = "/webhooks/twilio/sms"
SUB_ACCOUNT = "AC" + "b" * 32
SUB_TOKEN = "0123456789abcdef" * 2


def create_sender(engine: Engine, settings: Settings, clinic: Clinic, **fields: Any) -> Sender:
    """A sender of the clinic, added through the senders service."""
    if "auth_token" in fields:
        fields["auth_token"] = SecretStr(fields["auth_token"])
    with session_scope(engine) as session:
        return service.create_sender(
            session=session, settings=settings, clinic_id=clinic.id, data=SenderCreate(**fields), now=utcnow()
        )


def text_to(
    client: TestClient | httpx.Client,
    settings: Settings,
    body: str,
    *,
    sender: str,
    to: str,
    token: str | None = None,
    account: str | None = None,
) -> httpx.Response:
    """A patient's text to `to`, signed with `token` (the deployment's by default) as `account` signs it."""
    form = {"MessageSid": f"SM{uuid.uuid4().hex}", "From": sender, "To": to, "Body": body}
    if account:
        form["AccountSid"] = account
    secret = token or settings.twilio_auth_token.get_secret_value() or settings.simulator_auth_token
    signature = RequestValidator(secret).compute_signature(settings.public_base_url + PATH, form)
    return client.post(PATH, data=form, headers={"X-Twilio-Signature": signature})
