"""The production path: real worker → official Twilio SDK → fake Twilio → signed callbacks → our webhook."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from fakes.twilio import FakeTwilio
from outreach.config import Settings
from outreach.db import engine_for, session_scope, utcnow
from outreach.main import create_app
from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.patients.models import Patient
from outreach.patients.service import opt_out
from outreach.sms.twilio import sign_request
from tests.conftest import _truncate_all
from tests.factories import auth, create_clinic, create_key, create_patient, seed_due_texts
from tests.processes import outreach_env, running, wait_for
from tests.servers import free_port, serving

pytestmark = pytest.mark.slow


@dataclass
class Stack:
    """The served app, the fake, and what a worker needs to reach both."""

    engine: Engine
    client: TestClient
    fake: FakeTwilio
    env: dict[str, str]
    logs: Path


@pytest.fixture
def stack(pg_database: str, redis_url: str, tmp_path: Path) -> Iterator[Stack]:
    engine = engine_for(pg_database)
    _truncate_all(engine)
    redis.Redis.from_url(redis_url).flushdb()
    port = free_port()
    with FakeTwilio() as fake:
        twilio = {
            "gateway": "twilio",
            "twilio_account_sid": fake.account_sid,
            "twilio_auth_token": fake.auth_token,
            "twilio_from_number": "+12025550100",
            "twilio_api_base_url": fake.url,
            "public_base_url": f"http://127.0.0.1:{port}",
        }
        settings = Settings.model_validate({"database_url": pg_database, "broker_url": redis_url, **twilio})
        app = create_app(settings)
        env = outreach_env(
            database_url=pg_database,
            broker_url=redis_url,
            data_dir=tmp_path / "var",
            OUTREACH_SENDER_RATE_PER_S="1000",
            **{f"OUTREACH_{k.upper()}": v for k, v in twilio.items()},
        )
        with serving(app, port), TestClient(app) as client:
            yield Stack(engine, client, fake, env, tmp_path / "logs")


def _message(stack: Stack, message_id: str) -> OutboundMessage:
    with Session(stack.engine) as session:
        row = session.get(OutboundMessage, uuid.UUID(message_id))
        assert row is not None
        return row


def _schedule(stack: Stack, body: str) -> tuple[str, str]:
    clinic = create_clinic(stack.engine)
    patient = create_patient(stack.engine, clinic, phone="+12025550150")
    key = create_key(stack.engine, clinic)
    response = stack.client.post(
        "/admin/messages", headers=auth(key), json={"patient_id": str(patient.id), "body": body}
    )
    assert response.status_code == 201
    return str(response.json()["id"]), str(patient.id)


def test_sent_through_twilio_then_delivered_by_signed_callback(stack: Stack) -> None:
    message_id, _ = _schedule(stack, "Your visit is tomorrow at 10:00.")
    with running(
        {"worker": ["worker", "--concurrency", "4"], "scheduler": ["scheduler"]}, stack.env, stack.logs
    ):
        wait_for(lambda: _message(stack, message_id).status == MessageStatus.SENT, timeout_s=60, what="sent")
    row = _message(stack, message_id)
    [request] = stack.fake.creates
    assert request.form["Body"] == "Your visit is tomorrow at 10:00."
    assert request.form["StatusCallback"].endswith(f"/webhooks/twilio/status?message_id={message_id}")
    assert row.provider_sid == request.sid
    assert stack.fake.send_callbacks(request.sid, ["sent", "delivered", "sent"]) == [204, 204, 204]
    assert _message(stack, message_id).status == MessageStatus.DELIVERED


def test_accept_then_drop_stays_unknown_until_the_callback_reconciles_it(stack: Stack) -> None:
    stack.fake.fail_next = ["accept_then_drop"]
    message_id, _ = _schedule(stack, "Please call the clinic.")
    with running(
        {"worker": ["worker", "--concurrency", "4"], "scheduler": ["scheduler"]}, stack.env, stack.logs
    ):
        wait_for(
            lambda: _message(stack, message_id).status == MessageStatus.UNKNOWN, timeout_s=60, what="unknown"
        )
        time.sleep(1)  # a worker that wrongly resent would do it now
    assert len(stack.fake.creates) == 1, "an unknown outcome must never be resent"
    stack.fake.send_callbacks(stack.fake.creates[0].sid, ["delivered"])
    row = _message(stack, message_id)
    assert row.status == MessageStatus.DELIVERED
    assert row.provider_sid == stack.fake.creates[0].sid


def test_undelivered_landline_marks_the_number_undeliverable(stack: Stack) -> None:
    message_id, patient_id = _schedule(stack, "Checking in after your visit.")
    with running(
        {"worker": ["worker", "--concurrency", "4"], "scheduler": ["scheduler"]}, stack.env, stack.logs
    ):
        wait_for(lambda: _message(stack, message_id).status == MessageStatus.SENT, timeout_s=60, what="sent")
    stack.fake.send_callbacks(stack.fake.creates[0].sid, ["undelivered"], error_code=30006)
    row = _message(stack, message_id)
    assert (row.status, row.error_code) == (MessageStatus.FAILED, 30006)
    assert "landline" in (row.error_reason or "")
    with Session(stack.engine) as session:
        patient = session.get(Patient, uuid.UUID(patient_id))
        assert patient is not None
        assert patient.undeliverable_reason


def test_callback_with_a_bad_signature_is_refused_before_anything_changes(stack: Stack) -> None:
    message_id, _ = _schedule(stack, "Hello")
    url = f"{stack.env['OUTREACH_PUBLIC_BASE_URL']}/webhooks/twilio/status?message_id={message_id}"
    form = {"MessageSid": "SM" + "c" * 32, "MessageStatus": "delivered"}
    good = sign_request(auth_token=stack.fake.auth_token, url=url, params=form)
    path = f"/webhooks/twilio/status?message_id={message_id}"
    tampered = {**form, "MessageStatus": "failed"}
    assert stack.client.post(path, data=tampered, headers={"X-Twilio-Signature": good}).status_code == 403
    assert stack.client.post(path, data=form).status_code == 403
    assert _message(stack, message_id).status == MessageStatus.SCHEDULED
    assert stack.client.post(path, data=form, headers={"X-Twilio-Signature": good}).status_code == 204


def test_stop_committed_while_100_texts_are_queued_stops_them_all(stack: Stack) -> None:
    clinic = create_clinic(stack.engine)
    ids = seed_due_texts(stack.engine, clinic, patients=1, per_patient=100)
    stack.fake.latency_s = 0.05
    env = {**stack.env, "OUTREACH_SENDER_RATE_PER_S": "20"}
    with running({"worker": ["worker", "--concurrency", "8"], "scheduler": ["scheduler"]}, env, stack.logs):
        wait_for(lambda: len(stack.fake.creates) >= 5, timeout_s=60, what="the first texts to go out")
        with session_scope(stack.engine) as session:
            patient = session.get(Patient, _message(stack, str(ids[0])).patient_id)
            assert patient is not None
            opt_out(session=session, patient=patient, source="STOP", now=utcnow())
        with Session(stack.engine) as session:
            in_flight = sum(
                1 for i in ids if (m := session.get(OutboundMessage, i)) and m.status == MessageStatus.SENDING
            )
        requests_at_commit = len(stack.fake.creates)
        wait_for(
            lambda: all(_message(stack, str(i)).status != MessageStatus.SENDING for i in ids),
            timeout_s=30,
            what="in-flight sends to finish",
        )
    assert len(stack.fake.creates) <= requests_at_commit + in_flight, (
        "a text went out after the STOP committed"
    )
    statuses = [_message(stack, str(i)).status for i in ids]
    assert statuses.count(MessageStatus.CANCELLED) >= 100 - len(stack.fake.creates)
