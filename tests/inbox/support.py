"""Helpers for inbox tests: signed inbound texts, coordinators, and reading threads back."""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta

import httpx
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from twilio.request_validator import RequestValidator

from outreach.clinics.models import Clinic, Role
from outreach.config import Settings, webhook_token
from outreach.db import session_scope, utcnow
from outreach.inbox.models import InboundMessage, Thread
from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.patients.models import Patient
from tests.factories import auth, create_key

CLINIC_PHONE = "+12025550100"
PATH = "/webhooks/twilio/sms"
_sids = itertools.count(1)


def text_in(
    client: TestClient | httpx.Client, settings: Settings, body: str, *, sender: str, to: str = CLINIC_PHONE
) -> httpx.Response:
    """A patient's text, signed as Twilio signs it, through the real webhook."""
    form = {"MessageSid": f"SM{uuid.uuid4().hex}", "From": sender, "To": to, "Body": body}
    signature = RequestValidator(webhook_token(settings)).compute_signature(
        settings.public_base_url + PATH, form
    )
    response = client.post(PATH, data=form, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200, response.text
    return response


def coordinator(engine: Engine, clinic: Clinic) -> dict[str, str]:
    """Request headers for a new coordinator of the clinic."""
    return auth(create_key(engine, clinic, Role.COORDINATOR))


def threads(engine: Engine) -> list[Thread]:
    """Every thread, oldest first."""
    with Session(engine) as session:
        return list(session.exec(select(Thread).order_by(col(Thread.opened_at))))


def inbound(engine: Engine) -> list[InboundMessage]:
    """Every inbound text, oldest first."""
    with Session(engine) as session:
        return list(session.exec(select(InboundMessage).order_by(col(InboundMessage.received_at))))


def sent_text(engine: Engine, patient: Patient, *, minutes_ago: int, body: str = "Reminder") -> uuid.UUID:
    """A text the patient already got, `minutes_ago` minutes ago."""
    at = utcnow() - timedelta(minutes=minutes_ago)
    message = OutboundMessage(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        send_at=at,
        sent_at=at,
        status=MessageStatus.SENT,
        language=patient.language,
        body=body,
    )
    with session_scope(engine) as session:
        session.add(message)
    return message.id
