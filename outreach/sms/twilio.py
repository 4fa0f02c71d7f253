"""Twilio through the official SDK: the only module that imports `twilio`.

Errors are sorted by one question, could the request have reached Twilio?
- Never arrived (safe to retry): connection refused, DNS failure, connect timeout, HTTP 429, HTTP 503.
- May have arrived (outcome unknown; settled by a status callback or `lookup`, never by sending again):
  read timeout, a connection dropped after the request went out, HTTP 500 (Twilio documents that a 500
  can still have created the message), 502 and 504 (a proxy in front of the API gave up; the API behind
  it may have finished).
- Refused with a Twilio error code (400 21211, 21610, ...): final, with a plain-language reason.

One gateway holds one pooled `requests` session; urllib3's pool is thread-safe, so a threaded worker can
share a gateway. Under prefork each child builds its own after the fork (see messaging.dispatch).
"""

from __future__ import annotations

import logging
import re
import urllib.request
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError

from outreach.sms.base import GatewayError, GatewayReceipt, OutboundSms
from outreach.sms.twilio_errors import describe

# The SDK builds https://api.twilio.com, or https://api.{edge}.{region}.twilio.com when TWILIO_REGION /
# TWILIO_EDGE are set in the environment; an override must catch both or requests would leak to Twilio.
_TWILIO_API = re.compile(r"^https://api(\.[a-z0-9-]+)*\.twilio\.com")
_NEVER_ARRIVED_STATUS = frozenset({429, 503})
_LOOKUP_SCAN = 200  # newest messages to one number that a lookup reads before giving up

# The SDK logs query strings (To=<phone>) at INFO; a logger outside the logging tree keeps them out of
# every handler the application configures. Nothing in the SDK logs above INFO.
_SDK_LOG = logging.Logger("outreach.sms.twilio.sdk", level=logging.WARNING)
_NUMBER_IN_QUERY = re.compile(r"\b(To|From)=[^&\s\"]+")


class _RedactNumbers(logging.Filter):
    """urllib3 logs each request line at DEBUG, and a lookup's query string holds the patient's number."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg, record.args = _NUMBER_IN_QUERY.sub(r"\1=[redacted]", record.getMessage()), None
        return True


_URLLIB3_LOG = logging.getLogger("urllib3.connectionpool")
if not any(isinstance(existing, _RedactNumbers) for existing in _URLLIB3_LOG.filters):
    _URLLIB3_LOG.addFilter(_RedactNumbers())


class _PooledClient(TwilioHttpClient):  # type: ignore[misc]
    """The SDK's HTTP client with a sized connection pool, no retries, optionally another base URL."""

    def __init__(self, *, base_url: str | None, timeout_s: float, pool_size: int = 32) -> None:
        super().__init__(pool_connections=True, timeout=timeout_s, logger=_SDK_LOG)
        self._base_url = base_url.rstrip("/") if base_url else None
        assert self.session is not None
        # max_retries=0: nothing below us may resend; only this module knows what is safe to retry.
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=pool_size, max_retries=0)
        for scheme in ("http://", "https://"):
            self.session.mount(scheme, adapter)
        # requests re-reads the proxy environment on every call (a measurable share of a send); read it
        # once here instead, so HTTPS_PROXY/NO_PROXY still apply.
        self.session.proxies.update(urllib.request.getproxies())
        self.session.trust_env = False

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        """Send through the pooled session, rewriting Twilio's host when a base URL is set."""
        if self._base_url:
            url = _TWILIO_API.sub(self._base_url, url, count=1)
        return super().request(method, url, *args, **kwargs)


def _never_left(exc: requests.exceptions.ConnectionError) -> bool:
    """Whether the connection failed before any byte of the request was sent."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    # urllib3 raises NewConnectionError (refused) and NameResolutionError (DNS), both subclasses of
    # ConnectTimeoutError, only while opening a connection; a reset mid-request is a ProtocolError.
    return isinstance(reason, ConnectTimeoutError)


def _transport_error(exc: requests.exceptions.RequestException) -> GatewayError:
    """Map a failure below HTTP to a GatewayError that says whether the request could have arrived."""
    if isinstance(exc, requests.exceptions.ConnectionError) and _never_left(exc):
        return GatewayError("could not connect to Twilio", retryable=True)
    if isinstance(exc, requests.exceptions.Timeout):
        return GatewayError("Twilio did not answer in time", may_have_arrived=True)
    return GatewayError("the connection to Twilio broke after the request was sent", may_have_arrived=True)


def _rest_error(exc: TwilioRestException) -> GatewayError:
    """Map an HTTP error answer from Twilio to a GatewayError."""
    if exc.status in _NEVER_ARRIVED_STATUS:
        return GatewayError(f"Twilio answered HTTP {exc.status}; try again later", retryable=True)
    if exc.status >= 500:
        return GatewayError(f"Twilio answered HTTP {exc.status}", may_have_arrived=True)
    code = int(exc.code) if exc.code is not None else None
    return GatewayError(describe(code).reason, code=code)


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
            raise ValueError(
                "set exactly one of messaging_service_sid (OUTREACH_TWILIO_MESSAGING_SERVICE_SID) "
                "or from_number (OUTREACH_TWILIO_FROM_NUMBER)"
            )
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
        except requests.exceptions.RequestException as exc:
            raise _transport_error(exc) from None
        return GatewayReceipt(provider_sid=str(message.sid), status=str(message.status))

    def fetch(self, provider_sid: str) -> str:
        """Twilio's current status for one message (queued, sent, delivered, undelivered, failed...)."""
        try:
            message = self._client.messages(provider_sid).fetch()
        except TwilioRestException as exc:
            raise _rest_error(exc) from None
        except requests.exceptions.RequestException as exc:
            raise GatewayError(
                f"status lookup failed: {_transport_error(exc).reason}", retryable=True
            ) from None
        return str(message.status)

    def lookup(self, sms: OutboundSms, *, sent_after: datetime) -> GatewayReceipt | None:
        """The oldest message to `sms.to` with the same body created at or after `sent_after`, if any.

        Twilio's Message resource never echoes the StatusCallback URL, so our message id cannot be read
        back; recipient + body + creation time is the best key the API offers. Limits: two identical texts
        to one number after `sent_after` cannot be told apart (pass the time this attempt began); only
        the newest 200 messages to the number are read; the DateSent filter is not used because a message
        still queued at Twilio has no date_sent yet.
        """
        # Twilio's dates are whole seconds in UTC; the caller's margin must cover clock skew.
        sent_after = sent_after.replace(microsecond=0, tzinfo=sent_after.tzinfo or UTC)
        found: GatewayReceipt | None = None
        try:
            for message in self._client.messages.stream(to=sms.to, page_size=50, limit=_LOOKUP_SCAN):
                created = message.date_created
                if created is not None and created < sent_after:
                    break  # the list is newest first: everything further is older
                if message.body == sms.body:
                    found = GatewayReceipt(provider_sid=str(message.sid), status=str(message.status))
        except TwilioRestException as exc:
            raise GatewayError(f"lookup failed: HTTP {exc.status}", retryable=True) from None
        except requests.exceptions.RequestException as exc:
            raise GatewayError(f"lookup failed: {_transport_error(exc).reason}", retryable=True) from None
        return found


def validate_signature(*, auth_token: str, url: str, params: Mapping[str, str], signature: str) -> bool:
    """Whether X-Twilio-Signature matches this URL and form, per Twilio's algorithm."""
    return bool(RequestValidator(auth_token).validate(url, dict(params), signature))


def sign_request(*, auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """The X-Twilio-Signature Twilio would send for this URL and form (the fakes sign with it)."""
    return str(RequestValidator(auth_token).compute_signature(url, dict(params)))
