"""TwilioGateway through the official SDK against the local fake Twilio."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from outreach.sms.base import GatewayError, OutboundSms
from outreach.sms.fake_twilio import FakeTwilio
from outreach.sms.twilio import TwilioGateway, sign_request, validate_signature


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as server:
        yield server


def _gateway(fake: FakeTwilio, **overrides: object) -> TwilioGateway:
    options: dict[str, object] = {"messaging_service_sid": "MG" + "1" * 32, "timeout_s": 2.0}
    options.update(overrides)
    return TwilioGateway(
        account_sid=fake.account_sid,
        auth_token=fake.auth_token,
        api_base_url=fake.url,
        **options,  # type: ignore[arg-type]
    )


def _sms(to: str = "+12025550142", body: str = "Hello") -> OutboundSms:
    message_id = uuid.uuid4()
    return OutboundSms(
        message_id, to, body, f"https://outreach.example.org/webhooks/twilio/status?message_id={message_id}"
    )


def test_send_reaches_twilio_with_callback_validity_and_service(fake: FakeTwilio) -> None:
    receipt = _gateway(fake, validity_period_s=3600).send(_sms(body="Su cita es mañana"))
    assert receipt.provider_sid.startswith("SM")
    assert receipt.status == "queued"
    [sent] = fake.creates
    assert sent.form["To"] == "+12025550142"
    assert sent.form["Body"] == "Su cita es mañana"
    assert sent.form["MessagingServiceSid"] == "MG" + "1" * 32
    assert sent.form["ValidityPeriod"] == "3600"
    assert "message_id=" in sent.form["StatusCallback"]


def test_from_number_instead_of_service(fake: FakeTwilio) -> None:
    _gateway(fake, messaging_service_sid=None, from_number="+12025550100").send(_sms())
    assert fake.creates[0].form["From"] == "+12025550100"
    with pytest.raises(ValueError, match="exactly one"):
        _gateway(fake, from_number="+12025550100")


@pytest.mark.parametrize(
    ("mode", "retryable", "may_have_arrived"),
    [("429", True, False), ("503", True, False), ("500", False, True)],
)
def test_http_failures_say_whether_a_retry_is_safe(
    fake: FakeTwilio, mode: str, retryable: bool, may_have_arrived: bool
) -> None:
    fake.fail_next = [mode]
    with pytest.raises(GatewayError) as caught:
        _gateway(fake).send(_sms())
    assert (caught.value.retryable, caught.value.may_have_arrived) == (retryable, may_have_arrived)
    assert fake.creates == []


def test_refused_connection_is_retryable(fake: FakeTwilio) -> None:
    gateway = _gateway(fake)
    fake.stop()
    with pytest.raises(GatewayError) as caught:
        gateway.send(_sms())
    assert caught.value.retryable
    assert not caught.value.may_have_arrived


def test_accept_then_drop_is_unknown_and_the_lookup_finds_it(fake: FakeTwilio) -> None:
    fake.fail_next = ["accept_then_drop"]
    sms = _sms(body="Reminder for tomorrow")
    gateway = _gateway(fake)
    with pytest.raises(GatewayError) as caught:
        gateway.send(sms)
    assert caught.value.may_have_arrived
    assert not caught.value.retryable
    assert len(fake.creates) == 1
    found = gateway.lookup(sms, sent_after=datetime.now(UTC) - timedelta(minutes=5))
    assert found is not None
    assert found.provider_sid == fake.creates[0].sid
    assert (
        gateway.lookup(_sms(body="never sent"), sent_after=datetime.now(UTC) - timedelta(minutes=5)) is None
    )


def test_slow_twilio_is_unknown_not_resent(fake: FakeTwilio) -> None:
    fake.latency_s = 1.5
    with pytest.raises(GatewayError) as caught:
        _gateway(fake, timeout_s=0.3).send(_sms())
    assert caught.value.may_have_arrived


@pytest.mark.parametrize(("code", "reason"), [(21610, "STOP"), (21211, "not valid"), (21614, "landline")])
def test_per_number_error_codes_are_mapped(fake: FakeTwilio, code: int, reason: str) -> None:
    fake.number_errors["+12025550199"] = code
    with pytest.raises(GatewayError) as caught:
        _gateway(fake).send(_sms(to="+12025550199"))
    assert caught.value.code == code
    assert reason in caught.value.reason
    assert not caught.value.retryable


def test_signatures_made_by_the_sdk_algorithm_validate_and_tampering_fails() -> None:
    url = "https://outreach.example.org/webhooks/twilio/status?message_id=abc"
    form = {"MessageSid": "SM1", "MessageStatus": "delivered"}
    signature = sign_request(auth_token="secret", url=url, params=form)
    assert validate_signature(auth_token="secret", url=url, params=form, signature=signature)
    assert not validate_signature(
        auth_token="secret", url=url, params={**form, "MessageStatus": "sent"}, signature=signature
    )
    assert not validate_signature(
        auth_token="secret", url=url.replace("abc", "abd"), params=form, signature=signature
    )
    assert not validate_signature(auth_token="other", url=url, params=form, signature=signature)
