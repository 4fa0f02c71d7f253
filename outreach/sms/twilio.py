"""Twilio through the official SDK: this module and `twilio_http` (its transports) import `twilio`.

Errors are sorted by one question, could the request have reached Twilio?
- Never arrived (safe to retry): connection refused, DNS failure, connect timeout, HTTP 429, HTTP 503.
- May have arrived (outcome unknown; settled by a status callback or `lookup`, never by sending again):
  read timeout, a connection dropped after the request went out, HTTP 500 (Twilio documents that a 500
  can still have created the message), 502 and 504 (a proxy in front of the API gave up; the API behind
  it may have finished).
- Refused with a Twilio error code (400 21211, 21610, ...): final, with a plain-language reason.

Texts are created through the SDK's async client (`send_many`: a group at once, see `twilio_http`);
status look-ups (`fetch`, `lookup`) are rare and use its blocking client. One gateway serves every thread
of a worker.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import aiohttp
import urllib3
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from urllib3.exceptions import ConnectTimeoutError

from outreach.sms.base import GatewayError, GatewayReceipt, OutboundSms
from outreach.sms.twilio_errors import describe
from outreach.sms.twilio_http import SEND_LOOP, AsyncPooledClient, PooledClient

_NEVER_ARRIVED_STATUS = frozenset({429, 503})
_LOOKUP_SCAN = 200  # newest messages to one number that a lookup reads before giving up

log = logging.getLogger(__name__)


def _transport_error(exc: urllib3.exceptions.HTTPError) -> GatewayError:
    """Map a failure below HTTP to a GatewayError that says whether the request could have arrived."""
    # urllib3 raises NewConnectionError (refused) and NameResolutionError (DNS), both subclasses of
    # ConnectTimeoutError, only while opening a connection; a reset mid-request is a ProtocolError.
    if isinstance(exc, ConnectTimeoutError):
        return GatewayError("could not connect to Twilio", retryable=True)
    if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
        return GatewayError("Twilio did not answer in time", may_have_arrived=True)
    return GatewayError("the connection to Twilio broke after the request was sent", may_have_arrived=True)


def _aio_error(exc: aiohttp.ClientError | TimeoutError) -> GatewayError:
    """The same question for the async transport: could the request have reached Twilio?"""
    # Connecting (refused, DNS, TLS handshake, proxy) or timing out while connecting: it never left.
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        return GatewayError("could not connect to Twilio", retryable=True)
    if isinstance(exc, TimeoutError):  # reading the answer, or the whole request, took too long
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
        http = PooledClient(base_url=api_base_url, timeout_s=timeout_s)
        self._client = Client(account_sid, auth_token, http_client=http)
        sends = AsyncPooledClient(base_url=api_base_url, timeout_s=timeout_s)
        self._sends = Client(account_sid, auth_token, http_client=sends)
        self._sender: dict[str, str] = (
            {"messaging_service_sid": messaging_service_sid}
            if messaging_service_sid
            else {"from_": from_number or ""}
        )
        self._validity = validity_period_s
        self._timeout_s = timeout_s

    def send(self, sms: OutboundSms) -> GatewayReceipt:
        """Create the message at Twilio; raise GatewayError saying whether a retry is safe."""
        [outcome] = self.send_many([sms])
        if isinstance(outcome, GatewayError):
            raise outcome
        return outcome

    def send_many(self, texts: Sequence[OutboundSms]) -> list[GatewayReceipt | GatewayError]:
        """Create the messages at Twilio all at once; each text's receipt or error, in their order."""
        if not texts:
            return []
        created = asyncio.run_coroutine_threadsafe(self._create_all(texts), SEND_LOOP.get())
        try:  # every request ends within its own total timeout; this only guards against a stalled loop
            return created.result(timeout=3 * self._timeout_s + 5)
        except concurrent.futures.TimeoutError:
            created.cancel()
            log.error("the send loop gave no answer for %d texts", len(texts))
            return [GatewayError("no answer from Twilio in time", may_have_arrived=True) for _ in texts]

    async def _create_all(self, texts: Sequence[OutboundSms]) -> list[GatewayReceipt | GatewayError]:
        return list(await asyncio.gather(*(self._create(sms) for sms in texts)))

    async def _create(self, sms: OutboundSms) -> GatewayReceipt | GatewayError:
        extra: dict[str, Any] = {}
        if sms.status_callback:
            extra["status_callback"] = sms.status_callback
        if self._validity:
            extra["validity_period"] = self._validity
        try:
            message = await self._sends.messages.create_async(
                to=sms.to, body=sms.body, **self._sender, **extra
            )
        except TwilioRestException as exc:
            return _rest_error(exc)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return _aio_error(exc)
        except Exception as exc:  # one text's surprise must not lose the answers of its group
            # Whatever it was, the request may have gone out: unknown, settled by `lookup`, never resent.
            log.error("send %s: unexpected %s from the Twilio SDK", sms.message_id, type(exc).__name__)
            return GatewayError("the Twilio SDK failed unexpectedly", may_have_arrived=True)
        return GatewayReceipt(provider_sid=str(message.sid), status=str(message.status))

    def fetch(self, provider_sid: str) -> str:
        """Twilio's current status for one message (queued, sent, delivered, undelivered, failed...)."""
        try:
            message = self._client.messages(provider_sid).fetch()
        except TwilioRestException as exc:
            raise _rest_error(exc) from None
        except urllib3.exceptions.HTTPError as exc:
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
        except urllib3.exceptions.HTTPError as exc:
            raise GatewayError(f"lookup failed: {_transport_error(exc).reason}", retryable=True) from None
        return found


def validate_signature(*, auth_token: str, url: str, params: Mapping[str, str], signature: str) -> bool:
    """Whether X-Twilio-Signature matches this URL and form, per Twilio's algorithm."""
    return bool(RequestValidator(auth_token).validate(url, dict(params), signature))


def sign_request(*, auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """The X-Twilio-Signature Twilio would send for this URL and form (the fakes sign with it)."""
    return str(RequestValidator(auth_token).compute_signature(url, dict(params)))
