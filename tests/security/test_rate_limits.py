"""Rate limits: repeated wrong keys, sign-in guesses and webhook floods are answered 429 with Retry-After."""

from __future__ import annotations

import secrets

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from outreach.clinics.models import Role
from outreach.config import Settings, webhook_token
from outreach.main import create_app
from outreach.sms.twilio import sign_request
from tests.factories import auth, create_clinic, create_key, create_patient
from tests.web.conftest import csrf_of

LIMITS = {
    "rate_limit_auth_failures_per_address": "5/minute",
    "rate_limit_auth_failures_per_key": "3/minute",
    "rate_limit_sign_in_per_address": "4/minute",
    "rate_limit_inbound_per_sender": "3/minute",
}


def _client(settings: Settings, **extra: str) -> TestClient:
    return TestClient(create_app(settings.model_copy(update={**LIMITS, **extra})))


def test_wrong_keys_from_one_address_become_429_and_then_even_a_right_key_waits(
    settings: Settings, engine: Engine
) -> None:
    right = create_key(engine, create_clinic(engine))
    with _client(settings) as client:
        answers = [
            client.get("/admin/patients", headers=auth(f"ok_{secrets.token_hex(6)}_guess")).status_code
            for _ in range(7)
        ]
        blocked = client.get("/admin/patients", headers=auth(right))
    assert answers == [401] * 5 + [429] * 2
    assert blocked.status_code == 429
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    assert blocked.json()["error"] == "too_many_requests"


def test_guesses_at_one_key_prefix_are_limited_from_any_address(settings: Settings, engine: Engine) -> None:
    right = create_key(engine, create_clinic(engine))
    prefix = right.split("_")[1]
    with _client(settings) as client:
        guesses = [
            client.get("/admin/patients", headers=auth(f"ok_{prefix}_guess{n}")).status_code for n in range(4)
        ]
        other = client.get("/admin/patients", headers=auth(create_key(engine, create_clinic(engine))))
    assert guesses == [401, 401, 401, 429]
    assert other.status_code == 200  # another key's prefix is untouched (4 failures < 5 per address)


def test_right_keys_are_never_counted(settings: Settings, engine: Engine) -> None:
    right = create_key(engine, create_clinic(engine))
    with _client(settings) as client:
        assert {client.get("/admin/patients", headers=auth(right)).status_code for _ in range(12)} == {200}


def test_sign_in_attempts_are_limited_per_address(settings: Settings) -> None:
    with _client(settings) as client:
        csrf = csrf_of(client.get("/app/sign-in"))
        statuses = [
            client.post("/app/sign-in", data={"api_key": f"ok_abc{n}_x", "csrf_token": csrf, "next": "/app/"})
            for n in range(5)
        ]
    assert [s.status_code for s in statuses] == [401, 401, 401, 401, 429]
    assert "Too many sign-in attempts" in statuses[-1].text
    assert int(statuses[-1].headers["Retry-After"]) >= 1


def _webhook(client: TestClient, settings: Settings, *, sender: str, to: str) -> int:
    url = settings.public_base_url.rstrip("/") + "/webhooks/twilio/sms"
    form = {"MessageSid": "SM" + secrets.token_hex(16), "From": sender, "To": to, "Body": "hello"}
    signature = sign_request(auth_token=webhook_token(settings), url=url, params=form)
    answer = client.post("/webhooks/twilio/sms", data=form, headers={"X-Twilio-Signature": signature})
    return int(answer.status_code)


def test_a_webhook_flood_from_one_number_is_refused_before_it_is_stored(
    settings: Settings, engine: Engine
) -> None:
    clinic = create_clinic(engine)
    flooder, other = create_patient(engine, clinic), create_patient(engine, clinic)
    with _client(settings) as client:
        flood = [_webhook(client, settings, sender=flooder.phone, to=clinic.phone) for _ in range(5)]
        calm = _webhook(client, settings, sender=other.phone, to=clinic.phone)
    assert flood == [200, 200, 200, 429, 429]
    assert calm == 200


@pytest.mark.redis
def test_counts_are_shared_through_redis_and_hold_no_phone_number(
    settings: Settings, engine: Engine, redis_url: str
) -> None:
    store = redis.Redis.from_url(redis_url)
    store.flushdb()
    clinic = create_clinic(engine)
    patient = create_patient(engine, clinic, phone="+12025550177")
    shared = settings.model_copy(update={"redis_url": redis_url})
    with _client(shared) as first, _client(shared) as second:  # two server processes, one Redis
        answers = [_webhook(c, shared, sender=patient.phone, to=clinic.phone) for c in (first, second) * 2]
        create_key(engine, clinic, Role.ADMIN)
    assert answers == [200, 200, 200, 429]
    keys = " ".join(k.decode() if isinstance(k, bytes) else k for k in store.keys("*"))
    assert keys  # the counters live in Redis
    assert "2025550177" not in keys
