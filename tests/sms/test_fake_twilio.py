"""The fake Twilio itself: signed callbacks, Twilio's shapes and filters, and running as a process."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from fakes.twilio import FakeTwilio
from outreach.sms.base import OutboundSms
from outreach.sms.twilio import TwilioGateway, validate_signature
from tests.sms.receiver import CallbackReceiver, Received


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as server:
        yield server


@pytest.fixture
def receiver() -> Iterator[CallbackReceiver]:
    with CallbackReceiver() as server:
        yield server


def _send(fake: FakeTwilio, receiver: CallbackReceiver, *, to: str = "+12025550142") -> tuple[str, str]:
    """Send one text through the real gateway; return (Twilio SID, our message id)."""
    message_id = str(uuid.uuid4())
    gateway = TwilioGateway(
        account_sid=fake.account_sid,
        auth_token=fake.auth_token,
        from_number="+12025550100",
        api_base_url=fake.url,
    )
    callback = f"{receiver.base_url}/webhooks/twilio/status?message_id={message_id}"
    sms = OutboundSms(message_id=uuid.UUID(message_id), to=to, body="Hi", status_callback=callback)
    return gateway.send(sms).provider_sid, message_id


def _valid(fake: FakeTwilio, callback: Received, **changes: str) -> bool:
    url = changes.pop("url", callback.url)
    return validate_signature(
        auth_token=fake.auth_token, url=url, params={**callback.form, **changes}, signature=callback.signature
    )


def _api(fake: FakeTwilio, path: str, **params: str) -> requests.Response:
    url = f"{fake.url}/2010-04-01/Accounts/{fake.account_sid}/{path}"
    return requests.get(url, params=params, auth=(fake.account_sid, fake.auth_token), timeout=5)


def test_signed_callbacks_validate_and_any_tampering_is_caught(
    fake: FakeTwilio, receiver: CallbackReceiver
) -> None:
    sid, message_id = _send(fake, receiver)
    assert fake.send_callbacks(sid, ["sent", "delivered"]) == [204, 204]
    sent, delivered = receiver.wait_for(2)
    assert (sent.form["MessageStatus"], delivered.form["MessageStatus"]) == ("sent", "delivered")
    assert delivered.form["MessageSid"] == sid
    assert delivered.url.endswith(f"message_id={message_id}")
    assert _valid(fake, delivered)
    assert not _valid(fake, delivered, MessageStatus="failed")
    assert not _valid(fake, delivered, url=delivered.url.replace(message_id, str(uuid.uuid4())))
    assert not validate_signature(
        auth_token="another-token", url=delivered.url, params=delivered.form, signature=delivered.signature
    )


def test_automatic_callbacks_report_failures_with_the_error_code(
    fake: FakeTwilio, receiver: CallbackReceiver
) -> None:
    fake.auto_callbacks, fake.auto_error_code = ["sent", "undelivered"], 30006
    sid, _ = _send(fake, receiver)
    sent, undelivered = receiver.wait_for(2)
    assert [sent.form["MessageStatus"], undelivered.form["MessageStatus"]] == ["sent", "undelivered"]
    assert "ErrorCode" not in sent.form
    assert undelivered.form["ErrorCode"] == "30006"
    assert _valid(fake, undelivered)
    assert _api(fake, f"Messages/{sid}.json").json()["error_code"] == 30006


def test_list_filters_by_recipient_and_date_sent_newest_first(
    fake: FakeTwilio, receiver: CallbackReceiver
) -> None:
    first, _ = _send(fake, receiver)
    second, _ = _send(fake, receiver)
    _send(fake, receiver, to="+12025550999")
    listed = _api(fake, "Messages.json", To="+12025550142").json()
    assert [m["sid"] for m in listed["messages"]] == [second, first]
    assert listed["next_page_uri"] is None
    since = {"DateSent>": "2000-01-01T00:00:00Z"}
    assert _api(fake, "Messages.json", To="+12025550142", **since).json()["messages"] == []
    fake.send_callbacks(first, ["sent"])
    sent = _api(fake, "Messages.json", To="+12025550142", **since).json()["messages"]
    assert [(m["sid"], m["status"]) for m in sent] == [(first, "sent")]
    assert sent[0]["date_sent"] is not None


def test_paging_follows_twilio_shape(fake: FakeTwilio, receiver: CallbackReceiver) -> None:
    for _ in range(3):
        _send(fake, receiver)
    page = _api(fake, "Messages.json", PageSize="2").json()
    assert len(page["messages"]) == 2
    rest = requests.get(
        fake.url + page["next_page_uri"], auth=(fake.account_sid, fake.auth_token), timeout=5
    ).json()
    assert len(rest["messages"]) == 1
    assert rest["next_page_uri"] is None


def test_errors_use_twilio_json_and_credentials_are_checked(fake: FakeTwilio) -> None:
    url = f"{fake.url}/2010-04-01/Accounts/{fake.account_sid}/Messages.json"
    refused = requests.post(url, data={"To": "+1"}, auth=(fake.account_sid, "nope"), timeout=5)
    assert refused.status_code == 401
    assert refused.json()["code"] == 20003
    fake.number_errors["+12025550199"] = 21211
    bad = requests.post(url, data={"To": "+12025550199"}, auth=(fake.account_sid, fake.auth_token), timeout=5)
    assert bad.status_code == 400
    assert bad.json() | {"message": ""} == {
        "code": 21211,
        "message": "",
        "more_info": "https://www.twilio.com/docs/errors/21211",
        "status": 400,
    }
    assert _api(fake, "Messages/SM" + "0" * 32 + ".json").status_code == 404


def test_unknown_failure_mode_is_rejected(fake: FakeTwilio) -> None:
    with pytest.raises(ValueError, match="mode must be one of"):
        fake.mode = "418"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_runs_as_a_process_with_latency() -> None:
    port = _free_port()
    command = [sys.executable, "-m", "fakes.twilio", "--port", str(port), "--latency-ms", "50"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2])
    try:
        assert process.stdout is not None
        assert f"127.0.0.1:{port}" in process.stdout.readline()
        gateway = TwilioGateway(
            account_sid="AC" + "0" * 32,
            auth_token="fake-auth-token",
            from_number="+12025550100",
            api_base_url=f"http://127.0.0.1:{port}",
        )
        started = time.perf_counter()
        receipt = gateway.send(OutboundSms(message_id=uuid.uuid4(), to="+12025550142", body="Hi"))
        assert time.perf_counter() - started >= 0.05
        assert gateway.fetch(receipt.provider_sid) == "queued"
    finally:
        process.terminate()
        process.wait(timeout=5)
