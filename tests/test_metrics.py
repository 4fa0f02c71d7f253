"""`/metrics`: the figures an operator reads, who may read them, and that no label identifies anyone."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from celery import Celery
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from outreach.config import Settings
from outreach.db import session_scope, utcnow
from outreach.main import create_app
from outreach.messaging import scheduler, sender
from outreach.messaging.models import OutboundMessage
from outreach.observability import tasks as task_metrics
from outreach.observability.exposition import allowed
from outreach.observability.metrics import gateway_error_code
from outreach.senders import routing
from outreach.sms.base import GatewayError, GatewayReceipt, OutboundSms
from tests.factories import create_clinic, create_patient
from tests.inbox.support import CLINIC_PHONE, text_in

TOKEN = "metrics-scrape-token-for-tests"
PHONE_DIGITS = re.compile(r"\d{7,}")


class _Refusing:
    """A gateway that refuses one number with Twilio's 21610 (the recipient replied STOP at Twilio)."""

    name = "scripted"

    def __init__(self, refused: str) -> None:
        self.refused = refused

    def send(self, sms: OutboundSms) -> GatewayReceipt:
        if sms.to == self.refused:
            raise GatewayError("the patient has unsubscribed", code=21610)
        return GatewayReceipt(provider_sid=f"SM{sms.message_id.hex}", status="queued")

    def lookup(self, sms: OutboundSms, *, sent_after: object) -> GatewayReceipt | None:
        return None


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.text
    return _samples(answer.text)


def _text(engine: Engine, patient_id: object, clinic_id: object, body: str, *, due_in: timedelta) -> object:
    with session_scope(engine) as session:
        message = OutboundMessage(
            clinic_id=clinic_id,  # type: ignore[arg-type]
            patient_id=patient_id,  # type: ignore[arg-type]
            send_at=utcnow() + due_in,
            language="es",
            body=body,
        )
        session.add(message)
        return message.id


def test_metrics_count_what_happened_and_no_label_identifies_anyone(
    settings: Settings, engine: Engine
) -> None:
    settings = settings.model_copy(update={"metrics_token": SecretStr(TOKEN)})
    clinic = create_clinic(engine, phone=CLINIC_PHONE)
    ana, ben = create_patient(engine, clinic), create_patient(engine, clinic)
    bodies = ["Su cita es el martes", "Recuerde traer su tarjeta", "Mañana a las 9"]
    for body, person in zip(bodies, (ana, ben, ana), strict=True):
        _text(engine, person.id, clinic.id, body, due_in=timedelta(minutes=-10))
    _text(engine, ana.id, clinic.id, "Más tarde", due_in=timedelta(hours=2))
    with TestClient(create_app(settings)) as client:
        before = _scrape(client)
        assert before[("outreach_due_unclaimed_texts", ())] == 3
        assert before[("outreach_due_unclaimed_oldest_age_seconds", ())] >= 600
        with session_scope(engine) as session:
            claimed = scheduler.claim_due(session=session, now=utcnow(), limit=10)
        book = routing.SenderBook(settings=settings, engine=engine)
        book.default = routing.Route(None, "test", 100.0, _Refusing(ben.phone))
        gateway = routing.RoutingGateway(book)
        sender.send_batch(engine=engine, items=claimed, gateway=gateway, policy=sender.SendPolicy())
        text_in(client, settings, "¿Puedo llegar tarde?", sender=ana.phone)
        text_in(client, settings, "AYUDA", sender=ben.phone)
        bad = client.post(
            "/webhooks/twilio/sms", data={"From": ana.phone}, headers={"X-Twilio-Signature": "x"}
        )
        assert bad.status_code == 403
        raw = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
    after = _samples(raw)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    texts = {"kind": "one_off", "language": "es"}
    assert after[("outreach_texts", tuple(sorted({**texts, "status": "sent"}.items())))] == 2
    assert after[("outreach_texts", tuple(sorted({**texts, "status": "failed"}.items())))] == 1
    assert after[("outreach_texts", tuple(sorted({**texts, "status": "scheduled"}.items())))] == 1
    assert after[("outreach_due_unclaimed_texts", ())] == 0
    assert grew("outreach_gateway_errors_total", code="21610") == 1
    assert grew("outreach_gateway_send_seconds_count", gateway="scripted") == 3
    assert grew("outreach_inbound_webhooks_total", outcome="message") == 1
    assert grew("outreach_inbound_webhooks_total", outcome="help") == 1
    assert grew("outreach_inbound_webhooks_total", outcome="refused_403") == 1
    assert grew("outreach_inbound_webhook_seconds_count") == 3
    assert after[("outreach_coordinator_queue_threads", (("priority", "normal"),))] == 1

    identifying = [ana.phone, ben.phone, CLINIC_PHONE, str(ana.id), str(ben.id), *bodies, "Puedo", "AYUDA"]
    for (_, labels), _value in after.items():
        for _, value in labels:
            assert not PHONE_DIGITS.search(value), value
            assert not any(secret in value for secret in identifying), value
    assert not any(p in raw for p in (ana.phone, ben.phone, "2025550")), "a phone number in the metrics"


def test_metrics_need_the_token_or_an_allowed_address(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:  # no token: only loopback callers
        assert client.get("/metrics").status_code == 403  # the test client is not a loopback address
    with TestClient(create_app(settings.model_copy(update={"metrics_token": SecretStr(TOKEN)}))) as client:
        assert client.get("/metrics").status_code == 403
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
        assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert allowed(settings, client_host="127.0.0.1", authorization="")
    assert allowed(settings, client_host="::1", authorization="")
    assert not allowed(settings, client_host="203.0.113.9", authorization="")
    private = settings.model_copy(update={"metrics_allow": "10.0.0.0/8"})
    assert allowed(private, client_host="10.1.2.3", authorization="")
    assert not allowed(private, client_host="127.0.0.1", authorization="")


def test_celery_task_outcomes_are_counted_by_name_and_state() -> None:
    task_metrics.install()
    app = Celery("metrics-test", broker="memory://")
    app.conf.task_always_eager = True

    @app.task(name="test.ok")  # type: ignore[untyped-decorator]
    def ok() -> int:
        return 1

    @app.task(name="test.broken")  # type: ignore[untyped-decorator]
    def broken() -> None:
        raise RuntimeError("boom")

    def count(task: str, outcome: str) -> float:
        return (
            REGISTRY.get_sample_value("outreach_celery_tasks_total", {"task": task, "outcome": outcome})
            or 0.0
        )

    ok.apply()
    ok.apply()
    broken.apply()
    assert (count("test.ok", "success"), count("test.broken", "failure")) == (2.0, 1.0)


_WORKER = """
import sys
from outreach.observability import metrics
for _ in range(int(sys.argv[1])):
    metrics.GATEWAY_ERRORS.labels("30003").inc()
"""
_READER = """
from prometheus_client import generate_latest
from outreach.observability.exposition import process_registry
print(generate_latest(process_registry()).decode())
"""


def test_samples_of_several_processes_add_up_in_multiprocess_mode(tmp_path: Path) -> None:
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    for times in ("2", "3"):
        subprocess.run([sys.executable, "-c", _WORKER, times], env=env, check=True, timeout=60)
    shown = subprocess.run(
        [sys.executable, "-c", _READER], env=env, check=True, timeout=60, capture_output=True
    )
    assert _samples(shown.stdout.decode())[("outreach_gateway_errors_total", (("code", "30003"),))] == 5


@pytest.mark.parametrize("code", [None])
def test_gateway_errors_without_a_code_say_whether_the_request_arrived(code: int | None) -> None:
    assert gateway_error_code(code, retryable=True, may_have_arrived=False) == "not_arrived"
    assert gateway_error_code(code, retryable=False, may_have_arrived=True) == "no_answer"
    assert gateway_error_code(21211, retryable=False, may_have_arrived=False) == "21211"
