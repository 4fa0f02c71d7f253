"""Twilio through the official SDK: the only module that imports `twilio`.

Errors are sorted by one question, could the request have reached Twilio? Connection refused, connect
timeouts, HTTP 429 and 503 prove it did not (safe to retry). A read timeout, a dropped connection or an
HTTP 500/502/504 mean it may have (the outcome is unknown and is settled by a status callback or a lookup,
never by sending again).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from outreach.sms.base import GatewayError, GatewayReceipt, OutboundSms
from outreach.sms.twilio_errors import describe

TWILIO_API = "https://api.twilio.com"
_NEVER_ARRIVED_STATUS = {429, 503}


class _PooledClient(TwilioHttpClient):  # type: ignore[misc]
    """The SDK's HTTP client with a bigger connection pool, optionally pointed at another base URL."""

    def __init__(self, *, base_url: str | None, timeout_s: float, pool_size: int = 64) -> None:
        super().__init__(pool_connections=True, timeout=timeout_s)
        self._base_url = base_url.rstrip("/") if base_url else None
        assert self.session is not None
        for scheme in ("http://", "https://"):
            # max_retries=0: the SDK must never resend on its own; we decide what is safe to retry.
            self.session.mount(scheme, HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0))

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if self._base_url and url.startswith(TWILIO_API):
            url = self._base_url + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


def _never_left(exc: requests.exceptions.ConnectionError) -> bool:
    """Whether a connection error happened before the request could be sent."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    text = repr(exc.args)
    return "NewConnectionError" in text or "Connection refused" in text or "NameResolutionError" in text


class TwilioGateway:
    """Sends through Twilio's Messages API with a Messaging Service or a From number."""

    name = "twilio"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        messaging_service_sid: str | None = None,
        from_number: str | None = None,
        api_base_url: str | None = None,
        validity_period_s: int | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        if bool(messaging_service_sid) == bool(from_number):
            raise ValueError("set exactly one of messaging_service_sid or from_number")
        http = _PooledClient(base_url=api_base_url, timeout_s=timeout_s)
        self._client = Client(account_sid, auth_token, http_client=http)
        self._sender: dict[str, str] = (
            {"messaging_service_sid": messaging_service_sid}
            if messaging_service_sid
            else {"from_": from_number or ""}
        )
        self._validity = validity_period_s

    def send(self, sms: OutboundSms) -> GatewayReceipt:
        """Create the message at Twilio; raise GatewayError saying whether a retry is safe."""
        extra: dict[str, Any] = {}
        if sms.status_callback:
            extra["status_callback"] = sms.status_callback
        if self._validity:
            extra["validity_period"] = self._validity
        try:
            message = self._client.messages.create(to=sms.to, body=sms.body, **self._sender, **extra)
        except TwilioRestException as exc:
            raise _rest_error(exc) from None
        except requests.exceptions.ConnectionError as exc:
            if _never_left(exc):
                raise GatewayError("could not connect to Twilio", retryable=True) from None
            raise GatewayError(
                "the connection to Twilio broke after sending", may_have_arrived=True
            ) from None
        except requests.exceptions.Timeout:
            raise GatewayError("Twilio did not answer in time", may_have_arrived=True) from None
        return GatewayReceipt(provider_sid=str(message.sid), status=str(message.status))

    def lookup(self, sms: OutboundSms, *, sent_after: datetime) -> GatewayReceipt | None:
        """Find a text whose answer never came back: same recipient and body, created after `sent_after`.

        Twilio's Message resource does not echo our StatusCallback, so recipient + body + time is the
        best key the API offers; two identical texts to one number inside the window are told apart by
        the caller skipping SIDs it already holds.
        """
        try:
            found = self._client.messages.list(to=sms.to, date_sent_after=sent_after, limit=50)
        except (TwilioRestException, requests.exceptions.RequestException) as exc:
            raise GatewayError(f"lookup failed: {type(exc).__name__}", retryable=True) from None
        for message in found:
            if message.body == sms.body:
                return GatewayReceipt(provider_sid=str(message.sid), status=str(message.status))
        return None


def _rest_error(exc: TwilioRestException) -> GatewayError:
    if exc.status in _NEVER_ARRIVED_STATUS:
        return GatewayError(f"Twilio answered HTTP {exc.status}; try again later", retryable=True)
    if exc.status >= 500:
        return GatewayError(f"Twilio answered HTTP {exc.status}", may_have_arrived=True)
    return GatewayError(describe(exc.code).reason, code=exc.code)


def validate_signature(*, auth_token: str, url: str, params: Mapping[str, str], signature: str) -> bool:
    """Whether X-Twilio-Signature matches this URL and form, per Twilio's algorithm."""
    return bool(RequestValidator(auth_token).validate(url, dict(params), signature))


def sign_request(*, auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """The X-Twilio-Signature Twilio would send for this URL and form (the simulator signs with it)."""
    return str(RequestValidator(auth_token).compute_signature(url, dict(params)))
