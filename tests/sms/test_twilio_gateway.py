"""TwilioGateway through the official SDK against the local fake Twilio over loopback."""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from fakes.twilio import FakeTwilio
from outreach.sms.base import GatewayError, GatewayReceipt, OutboundSms
from outreach.sms.twilio import TwilioGateway
from outreach.sms.twilio_errors import describe

SERVICE = "MG" + "1" * 32
RECENT = timedelta(minutes=5)


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as server:
        yield server


def _gateway(fake: FakeTwilio, **overrides: object) -> TwilioGateway:
    options: dict[str, object] = {
        "messaging_service_sid": SERVICE,
        "timeout_s": 2.0,
        "api_base_url": fake.url,
    }
    options.update(overrides)
    return TwilioGateway(account_sid=fake.account_sid, auth_token=fake.auth_token, **options)  # type: ignore[arg-type]


def _sms(to: str = "+12025550142", body: str = "Hello") -> OutboundSms:
    message_id = uuid.uuid4()
    callback = f"https://outreach.example.org/webhooks/twilio/status?message_id={message_id}"
    return OutboundSms(message_id=message_id, to=to, body=body, status_callback=callback)


def test_send_hands_twilio_the_text_callback_validity_and_service(fake: FakeTwilio) -> None:
    sms = _sms(body="Su cita es mañana")
    receipt = _gateway(fake, validity_period_s=3600).send(sms)
    [sent] = fake.creates
    assert receipt.provider_sid == sent.sid
    assert receipt.status == "queued"
    assert sent.form["To"] == "+12025550142"
    assert sent.form["Body"] == "Su cita es mañana"
    assert sent.form["MessagingServiceSid"] == SERVICE
    assert "From" not in sent.form
    assert sent.form["ValidityPeriod"] == "3600"
    assert sent.form["StatusCallback"] == sms.status_callback
    assert fake.requests_for(str(sms.message_id)) == 1


def test_from_number_is_used_when_there_is_no_service(fake: FakeTwilio) -> None:
    _gateway(fake, messaging_service_sid=None, from_number="+12025550100").send(_sms())
    assert fake.creates[0].form["From"] == "+12025550100"
    assert "MessagingServiceSid" not in fake.creates[0].form
    assert "ValidityPeriod" not in fake.creates[0].form


@pytest.mark.parametrize(
    "senders", [{"messaging_service_sid": None}, {"from_number": "+12025550100"}], ids=["none", "both"]
)
def test_exactly_one_sender_setting_is_required(fake: FakeTwilio, senders: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="OUTREACH_TWILIO_MESSAGING_SERVICE_SID"):
        _gateway(fake, **senders)


@pytest.mark.parametrize(
    ("mode", "retryable", "may_have_arrived"),
    [
        ("429", True, False),
        ("503", True, False),
        ("500", False, True),
        ("502", False, True),
        ("504", False, True),
    ],
)
def test_http_failures_say_whether_a_retry_is_safe(
    fake: FakeTwilio, mode: str, retryable: bool, may_have_arrived: bool
) -> None:
    fake.fail_next = [mode]
    gateway = _gateway(fake)
    with pytest.raises(GatewayError) as caught:
        gateway.send(_sms())
    assert (caught.value.retryable, caught.value.may_have_arrived) == (retryable, may_have_arrived)
    assert caught.value.code is None
    assert gateway.send(_sms()).provider_sid.startswith("SM"), "only the next request was meant to fail"


def test_refused_connection_is_retryable_and_the_gateway_recovers(fake: FakeTwilio) -> None:
    gateway = _gateway(fake)
    gateway.send(_sms())  # leaves a pooled connection that the refusal must not confuse
    fake.mode = "refuse"
    for _ in range(2):
        with pytest.raises(GatewayError) as caught:
            gateway.send(_sms())
        assert caught.value.retryable
        assert not caught.value.may_have_arrived
    fake.mode = None
    assert gateway.send(_sms()).status == "queued"
    assert len(fake.creates) == 2


def test_unknown_host_is_retryable() -> None:
    gateway = TwilioGateway(
        account_sid="AC" + "0" * 32,
        auth_token="token",
        from_number="+12025550100",
        api_base_url="http://twilio-api.invalid",
    )
    with pytest.raises(GatewayError) as caught:
        gateway.send(_sms())
    assert caught.value.retryable
    assert not caught.value.may_have_arrived


def test_accept_then_drop_is_unknown_and_lookup_finds_the_one_message(fake: FakeTwilio) -> None:
    fake.fail_next = ["accept_then_drop"]
    sms = _sms(body="Reminder for tomorrow")
    gateway = _gateway(fake)
    before = datetime.now(UTC)
    with pytest.raises(GatewayError) as caught:
        gateway.send(sms)
    assert caught.value.may_have_arrived
    assert not caught.value.retryable
    assert fake.requests_for(str(sms.message_id)) == 1
    assert len(fake.creates) == 1
    found = gateway.lookup(sms, sent_after=before)
    assert found is not None
    assert (found.provider_sid, found.status) == (fake.creates[0].sid, "queued")
    assert gateway.lookup(_sms(body="never sent"), sent_after=before - RECENT) is None


def test_lookup_ignores_texts_older_than_the_attempt(fake: FakeTwilio) -> None:
    gateway = _gateway(fake)
    sms = _sms(body="Same words")
    gateway.send(sms)
    assert gateway.lookup(sms, sent_after=datetime.now(UTC) + timedelta(seconds=2)) is None


def test_lookup_reads_past_the_first_page_and_returns_the_oldest_match(fake: FakeTwilio) -> None:
    gateway = _gateway(fake)
    wanted = _sms(body="Your visit is confirmed")
    first = gateway.send(wanted)
    for index in range(60):  # newer texts to the same patient push it to the second page
        gateway.send(_sms(body=f"Other text {index}"))
    found = gateway.lookup(wanted, sent_after=datetime.now(UTC) - RECENT)
    assert found is not None
    assert found.provider_sid == first.provider_sid


def test_slow_twilio_is_unknown_although_the_message_arrived(fake: FakeTwilio) -> None:
    fake.latency_s = 1.0
    with pytest.raises(GatewayError) as caught:
        _gateway(fake, timeout_s=0.3).send(_sms())
    assert caught.value.may_have_arrived
    assert not caught.value.retryable


@pytest.mark.parametrize(
    ("code", "category"),
    [(21610, "opted_out"), (21211, "undeliverable"), (21614, "undeliverable"), (21408, "failed")],
)
def test_per_number_error_codes_come_back_with_plain_reasons(
    fake: FakeTwilio, code: int, category: str
) -> None:
    fake.number_errors["+12025550199"] = code
    with pytest.raises(GatewayError) as caught:
        _gateway(fake).send(_sms(to="+12025550199"))
    assert caught.value.code == code
    assert caught.value.reason == describe(code).reason
    assert describe(caught.value.code).category == category
    assert not caught.value.retryable
    assert not caught.value.may_have_arrived
    assert fake.creates == []


def test_wrong_credentials_are_a_final_error(fake: FakeTwilio) -> None:
    gateway = TwilioGateway(
        account_sid=fake.account_sid, auth_token="wrong", from_number="+12025550100", api_base_url=fake.url
    )
    with pytest.raises(GatewayError) as caught:
        gateway.send(_sms())
    assert caught.value.code == 20003
    assert "credentials" in caught.value.reason
    assert fake.creates == []


def test_fetch_follows_the_status_twilio_reports(fake: FakeTwilio) -> None:
    gateway = _gateway(fake)
    receipt = gateway.send(OutboundSms(message_id=uuid.uuid4(), to="+12025550142", body="Hi"))
    assert gateway.fetch(receipt.provider_sid) == "queued"
    fake.messages[receipt.provider_sid].status = "delivered"
    assert gateway.fetch(receipt.provider_sid) == "delivered"
    with pytest.raises(GatewayError) as caught:
        gateway.fetch("SM" + "f" * 32)
    assert caught.value.code == 20404


def test_fetch_when_twilio_is_unreachable_is_retryable(fake: FakeTwilio) -> None:
    gateway = _gateway(fake)
    fake.mode = "refuse"
    with pytest.raises(GatewayError) as caught:
        gateway.fetch("SM" + "f" * 32)
    assert caught.value.retryable


def test_one_gateway_serves_many_threads(fake: FakeTwilio) -> None:
    gateway, sids, errors = _gateway(fake), [], []

    def send_some() -> None:
        for _ in range(25):
            try:
                sids.append(gateway.send(_sms()).provider_sid)
            except GatewayError as exc:  # pragma: no cover - reported by the assertion below
                errors.append(exc)

    threads = [threading.Thread(target=send_some) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(sids) == sorted(m.sid for m in fake.creates)
    assert len(set(sids)) == 200


def test_logs_carry_no_phone_number_or_body(fake: FakeTwilio, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    gateway = _gateway(fake)
    sms = _sms(to="+12025550177", body="Private words")
    gateway.send(sms)
    gateway.lookup(sms, sent_after=datetime.now(UTC) - RECENT)
    assert "Private words" not in caplog.text
    assert "2025550177" not in caplog.text


def test_send_many_sends_a_group_at_once_each_with_its_own_answer(fake: FakeTwilio) -> None:
    fake.latency_s = 1.0  # long enough that a loaded machine's overhead cannot hide one-by-one sending
    fake.number_errors["+12025550199"] = 21211
    texts = [_sms(to=f"+120255501{index:02d}", body=f"Text {index}") for index in range(12)]
    texts.append(_sms(to="+12025550199", body="To a landline"))
    began = time.monotonic()
    answers = _gateway(fake).send_many(texts)
    took = time.monotonic() - began
    assert took < 6.5, f"13 texts at 1 s each took {took:.1f} s: they went one after another"
    refused = answers.pop()
    assert isinstance(refused, GatewayError)
    assert (refused.code, refused.reason) == (21211, describe(21211).reason)
    created = {message.sid: message for message in fake.creates}
    for sms, answer in zip(texts[:-1], answers, strict=True):
        assert isinstance(answer, GatewayReceipt)
        assert (created[answer.provider_sid].to, created[answer.provider_sid].body) == (sms.to, sms.body)
        assert fake.requests_for(str(sms.message_id)) == 1
    assert _gateway(fake).send_many([]) == []


def test_a_forked_worker_sends_on_a_loop_of_its_own(fake: FakeTwilio) -> None:
    gateway = _gateway(fake)
    gateway.send(_sms())  # the parent's loop and pooled connections exist before the fork

    def child() -> None:
        gateway.send(_sms(body="From the child"))

    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    process.join(20)
    assert process.exitcode == 0
    assert [message.body for message in fake.creates] == ["Hello", "From the child"]
    assert gateway.send(_sms(body="Parent again")).status == "queued"
