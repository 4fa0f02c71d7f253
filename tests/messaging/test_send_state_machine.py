"""The outbox state machine: claim once, send at most once, never resend an unknown outcome."""

from __future__ import annotations

import multiprocessing
import os
import signal
import uuid
from datetime import datetime, timedelta
from typing import Any

from freezegun import freeze_time
from sqlalchemy.engine import Engine
from sqlmodel import Session

from outreach.db import make_engine, session_scope, utcnow
from outreach.messaging import reconcile, scheduler, sender, service
from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.messaging.status import apply_status
from outreach.patients.models import ConsentStatus, Patient
from outreach.patients.service import opt_out
from outreach.sms.base import GatewayError, GatewayReceipt, OutboundSms
from tests.factories import create_clinic, create_patient


class ScriptedGateway:
    """A gateway that answers from a script and records what it was asked to send."""

    name = "scripted"

    def __init__(self, *answers: GatewayReceipt | GatewayError) -> None:
        self.answers = list(answers)
        self.sent: list[OutboundSms] = []

    def send(self, sms: OutboundSms) -> GatewayReceipt:
        self.sent.append(sms)
        answer = self.answers.pop(0) if self.answers else GatewayReceipt(f"SM{uuid.uuid4().hex}", "queued")
        if isinstance(answer, GatewayError):
            raise answer
        return answer

    def lookup(self, sms: OutboundSms, *, sent_after: datetime) -> GatewayReceipt | None:
        return None


def _scheduled(engine: Engine, **patient: Any) -> uuid.UUID:
    clinic = create_clinic(engine)
    person = create_patient(engine, clinic, **patient)
    with session_scope(engine) as session:
        message = service.create_one_off(
            session=session,
            clinic_id=clinic.id,
            patient_id=person.id,
            body="Hello",
            send_at=None,
            language=None,
            now=utcnow(),
        )
        return message.id


def _claim(engine: Engine) -> list[uuid.UUID]:
    with session_scope(engine) as session:
        claimed = scheduler.claim_due(session=session, now=utcnow() + timedelta(seconds=1), limit=100)
    assert all(segments >= 1 for _, segments in claimed)
    return [message_id for message_id, _ in claimed]


def _status(engine: Engine, message_id: uuid.UUID) -> OutboundMessage:
    with Session(engine) as session:
        message = session.get(OutboundMessage, message_id)
        assert message is not None
        return message


POLICY = sender.SendPolicy(max_attempts=3)


def test_claim_is_exclusive(engine: Engine) -> None:
    message_id = _scheduled(engine)
    assert _claim(engine) == [message_id]
    assert _claim(engine) == []
    assert _status(engine, message_id).status == MessageStatus.QUEUED


def test_future_text_is_not_claimed_early(engine: Engine) -> None:
    clinic = create_clinic(engine)
    person = create_patient(engine, clinic)
    with session_scope(engine) as session:
        service.create_one_off(
            session=session,
            clinic_id=clinic.id,
            patient_id=person.id,
            body="Later",
            send_at=utcnow() + timedelta(hours=1),
            language=None,
            now=utcnow(),
        )
    assert _claim(engine) == []


def test_sends_once_even_if_the_task_runs_three_times(engine: Engine) -> None:
    message_id = _scheduled(engine)
    _claim(engine)
    gateway = ScriptedGateway()
    outcomes = [
        sender.send(engine=engine, message_id=message_id, gateway=gateway, policy=POLICY) for _ in range(3)
    ]
    assert outcomes == ["sent", "skipped", "skipped"]
    assert len(gateway.sent) == 1
    final = _status(engine, message_id)
    assert final.status == MessageStatus.SENT
    assert final.attempts == 1


def test_timeout_after_the_request_left_is_unknown_and_never_resent(engine: Engine) -> None:
    message_id = _scheduled(engine)
    _claim(engine)
    gateway = ScriptedGateway(GatewayError("read timed out", may_have_arrived=True))
    assert sender.send(engine=engine, message_id=message_id, gateway=gateway, policy=POLICY) == "unknown"
    assert _claim(engine) == []
    assert sender.send(engine=engine, message_id=message_id, gateway=gateway, policy=POLICY) == "skipped"
    assert len(gateway.sent) == 1
    with session_scope(engine) as session:
        result = apply_status(
            session=session,
            message_id=message_id,
            provider_sid="SM" + "a" * 32,
            provider_status="delivered",
            error_code=None,
            now=utcnow(),
        )
    assert result == "unknown -> delivered"
    assert _status(engine, message_id).provider_sid == "SM" + "a" * 32


def test_refused_connection_retries_later_then_fails_after_max_attempts(engine: Engine) -> None:
    message_id = _scheduled(engine)
    refused = GatewayError("connection refused", retryable=True)
    gateway = ScriptedGateway(refused, refused, refused)
    start = utcnow()
    for attempt in range(1, 4):
        with freeze_time(start + timedelta(hours=attempt)):
            assert _claim(engine) == [message_id], f"attempt {attempt} was not claimed"
            outcome = sender.send(engine=engine, message_id=message_id, gateway=gateway, policy=POLICY)
            row = _status(engine, message_id)
            assert row.attempts == attempt
            if attempt < 3:
                assert outcome == "scheduled"
                assert row.send_at > utcnow(), "a retry waits (backoff) before it is due again"
    assert outcome == "failed"
    assert _status(engine, message_id).status == MessageStatus.FAILED


def test_opt_out_after_queueing_means_no_send(engine: Engine) -> None:
    message_id = _scheduled(engine)
    _claim(engine)
    with session_scope(engine) as session:
        patient_id = _status(engine, message_id).patient_id
        patient = session.get(Patient, patient_id)
        assert patient is not None
        assert opt_out(session=session, patient=patient, source="STOP", now=utcnow()) == 1
    gateway = ScriptedGateway()
    assert sender.send(engine=engine, message_id=message_id, gateway=gateway, policy=POLICY) == "skipped"
    assert gateway.sent == []
    assert _status(engine, message_id).status == MessageStatus.CANCELLED


def test_late_sent_callback_never_overwrites_delivered(engine: Engine) -> None:
    message_id = _scheduled(engine)
    _claim(engine)
    sid = "SM" + "b" * 32
    sender.send(
        engine=engine,
        message_id=message_id,
        gateway=ScriptedGateway(GatewayReceipt(sid, "queued")),
        policy=POLICY,
    )
    results = []
    for status in ("delivered", "sent", "delivered"):
        with session_scope(engine) as session:
            results.append(
                apply_status(
                    session=session,
                    message_id=message_id,
                    provider_sid=sid,
                    provider_status=status,
                    error_code=None,
                    now=utcnow(),
                )
            )
    assert results == ["sent -> delivered", "ignored: not newer", "ignored: not newer"]
    assert _status(engine, message_id).status == MessageStatus.DELIVERED


def test_carrier_opt_out_code_revokes_consent_and_cancels_the_rest(engine: Engine) -> None:
    first = _scheduled(engine)
    patient_id = _status(engine, first).patient_id
    with session_scope(engine) as session:
        patient = session.get(Patient, patient_id)
        assert patient is not None
        later = service.create_one_off(
            session=session,
            clinic_id=patient.clinic_id,
            patient_id=patient_id,
            body="Later",
            send_at=utcnow() + timedelta(days=1),
            language=None,
            now=utcnow(),
        ).id
    _claim(engine)
    gateway = ScriptedGateway(GatewayError("unsubscribed", code=21610))
    assert sender.send(engine=engine, message_id=first, gateway=gateway, policy=POLICY) == "failed"
    with Session(engine) as session:
        patient = session.get(Patient, patient_id)
        assert patient is not None
        assert patient.consent == ConsentStatus.REVOKED
    assert _status(engine, later).status == MessageStatus.CANCELLED
    assert _status(engine, first).error_code == 21610


class CrashingGateway:
    """Kills the worker process mid-send, before any request leaves (as an out-of-memory kill would)."""

    name = "crashing"

    def send(self, sms: OutboundSms) -> GatewayReceipt:
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable")

    def lookup(self, sms: OutboundSms, *, sent_after: datetime) -> GatewayReceipt | None:
        return None


def _send_in_child(url: str, message_id: uuid.UUID) -> int:
    def child() -> None:
        sender.send(engine=make_engine(url), message_id=message_id, gateway=CrashingGateway(), policy=POLICY)

    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    process.join(30)
    return process.exitcode if process.exitcode is not None else 0


def test_text_that_crashes_its_worker_every_time_ends_failed_not_looping(engine: Engine) -> None:
    message_id = _scheduled(engine)
    url = engine.url.render_as_string(hide_password=False)
    start = utcnow()
    for attempt in range(1, POLICY.max_attempts + 1):
        moment = start + timedelta(minutes=attempt)
        with freeze_time(moment):
            assert _claim(engine) == [message_id], f"attempt {attempt} was not claimed"
            assert _send_in_child(url, message_id) == -signal.SIGKILL
        assert _status(engine, message_id).status == MessageStatus.SENDING
        with session_scope(engine) as session:
            stale = moment + timedelta(seconds=10)
            scheduler.mark_stale_sending_unknown(session=session, now=stale, older_than=timedelta(seconds=5))
        with freeze_time(moment + timedelta(seconds=20)):
            reconcile.reconcile_unknown(
                engine=engine,
                gateway=CrashingGateway(),
                policy=POLICY,
                older_than=timedelta(seconds=5),
                limit=10,
                now=utcnow(),
            )
    final = _status(engine, message_id)
    assert final.status == MessageStatus.FAILED
    assert final.attempts == POLICY.max_attempts
    assert "no record at the provider" in (final.error_reason or "")
    with freeze_time(start + timedelta(hours=1)):
        assert _claim(engine) == []
