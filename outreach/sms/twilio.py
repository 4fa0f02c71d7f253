"""Twilio through the official SDK: the only module that imports `twilio`.

Errors are sorted by one question, could the request have reached Twilio?
- Never arrived (safe to retry): connection refused, DNS failure, connect timeout, HTTP 429, HTTP 503.
- May have arrived (outcome unknown; settled by a status callback or `lookup`, never by sending again):
  read timeout, a connection dropped after the request went out, HTTP 500 (Twilio documents that a 500
  can still have created the message), 502 and 504 (a proxy in front of the API gave up; the API behind
  it may have finished).
- Refused with a Twilio error code (400 21211, 21610, ...): final, with a plain-language reason.

Texts are created through the SDK's async client: `send_many` hands a group of texts to one event loop
per process (a thread of its own), which sends them concurrently on an aiohttp connection pool. A send
then costs about half the CPU of the SDK's blocking client on threads (the answer is parsed by aiohttp's
C parser instead of http.client's, and no thread switch sits between requests), and a worker thread
waits once per group instead of once per text. Status look-ups (`fetch`, `lookup`) are rare and stay on
the blocking client, a urllib3 pool. Both are thread-safe, so a threaded worker shares one gateway; a
forked child builds its own loop on first use.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import concurrent.futures
import contextlib
import json
import logging
import os
import re
import threading
import urllib.request
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp
import urllib3
from twilio.base.exceptions import TwilioRestException
from twilio.http import AsyncHttpClient, HttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from urllib3.exceptions import ConnectTimeoutError
from yarl import URL

from outreach.sms.base import GatewayError, GatewayReceipt, OutboundSms
from outreach.sms.twilio_errors import describe

# The SDK builds https://api.twilio.com, or https://api.{edge}.{region}.twilio.com when TWILIO_REGION /
# TWILIO_EDGE are set in the environment; an override must catch both or requests would leak to Twilio.
_TWILIO_API = re.compile(r"^https://api(\.[a-z0-9-]+)*\.twilio\.com")
_NEVER_ARRIVED_STATUS = frozenset({429, 503})
_LOOKUP_SCAN = 200  # newest messages to one number that a lookup reads before giving up

log = logging.getLogger(__name__)

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


class _Wire:
    """What both transports do to a request the SDK built: the base URL, the form, the credentials header."""

    def __init__(self, base_url: str | None) -> None:
        self.base_url = base_url.rstrip("/") if base_url else None
        # The proxy environment (HTTPS_PROXY, NO_PROXY) is read once, for the host requests go to.
        host = urlsplit(self.base_url or "https://api.twilio.com")
        proxy = urllib.request.getproxies().get(host.scheme)
        bypass = bool(proxy) and bool(urllib.request.proxy_bypass(host.hostname or ""))
        self.proxy: str | None = None if bypass else proxy
        self._auth: tuple[tuple[str, str], str] | None = None

    def prepare(
        self,
        url: str,
        *,
        params: Mapping[str, object] | None,
        data: Mapping[str, object] | None,
        headers: Mapping[str, str] | None,
        auth: tuple[str, str] | None,
    ) -> tuple[str, str | None, dict[str, str]]:
        """The URL (with its query), the body and the headers to send."""
        if self.base_url:
            url = _TWILIO_API.sub(self.base_url, url, count=1)
        if params:
            url = f"{url}?{_form(params)}"
        sent = dict(headers or {})
        if auth:
            sent["Authorization"] = self._basic(auth)
        body: str | None = None
        if data is not None and sent.get("Content-Type", "").endswith("json"):
            body = json.dumps(data)
        elif data:
            body = _form(data)
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        return url, body, sent

    def _basic(self, auth: tuple[str, str]) -> str:
        """The Basic credentials header, encoded once per account."""
        known = self._auth
        if known is None or known[0] != auth:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            known = self._auth = (auth, f"Basic {token}")
        return known[1]


class _PooledClient(HttpClient):  # type: ignore[misc]
    """The SDK's HTTP transport on a urllib3 pool: no retries, keep-alive, optionally another base URL.

    The SDK builds each request (URL, form, auth) and parses each answer; this only carries them. Plain
    urllib3 instead of the SDK's default `requests` session: a send is the worker's hottest call and
    `requests` spends more CPU preparing it than urllib3 spends sending it.
    """

    def __init__(self, *, base_url: str | None, timeout_s: float, pool_size: int = 32) -> None:
        super().__init__(logger=_SDK_LOG, is_async=False, timeout=timeout_s)
        self._wire = _Wire(base_url)
        # retries=False: nothing below us may resend; only this module knows what is safe to retry.
        options: dict[str, Any] = {"num_pools": 4, "maxsize": pool_size, "block": False, "retries": False}
        proxy = self._wire.proxy
        self._proxied = proxy is not None
        if proxy is not None:
            self._pool: urllib3.PoolManager = urllib3.ProxyManager(proxy, **options)
        else:
            self._pool = urllib3.PoolManager(**options)
        # Per send, the manager would parse the URL and rebuild its pool key; the origins are few.
        self._origins: dict[str, urllib3.HTTPConnectionPool] = {}
        self._timeouts: dict[float, urllib3.Timeout] = {}

    def request(
        self,
        method: str,
        url: str,
        params: Mapping[str, object] | None = None,
        data: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        """Send one request the SDK built; raise urllib3's errors for `_transport_error` to sort."""
        url, body, sent = self._wire.prepare(url, params=params, data=data, headers=headers, auth=auth)
        wait = timeout or self.timeout
        limits = self._timeouts.get(wait)
        if limits is None:
            limits = self._timeouts[wait] = urllib3.Timeout(connect=wait, read=wait)
        if self._proxied:
            answer = self._pool.request(
                method.upper(), url, body=body, headers=sent, redirect=allow_redirects, timeout=limits
            )
        else:
            pool, path = self._origin(url)
            answer = pool.urlopen(
                method.upper(), path, body=body, headers=sent, redirect=allow_redirects, timeout=limits
            )
        return Response(answer.status, answer.data.decode("utf-8", "replace"), answer.headers)

    def _origin(self, url: str) -> tuple[urllib3.HTTPConnectionPool, str]:
        """The connection pool of the URL's scheme and host, and the path (with query) to ask it for."""
        slash = url.find("/", url.index("://") + 3)
        origin, path = (url, "/") if slash < 0 else (url[:slash], url[slash:])
        pool = self._origins.get(origin)
        if pool is None:
            pool = self._origins[origin] = self._pool.connection_from_url(origin)
        return pool, path


class _AsyncPooledClient(AsyncHttpClient):  # type: ignore[misc]
    """The SDK's async HTTP transport on an aiohttp pool: no retries, keep-alive, optionally another base URL.

    The SDK builds each request and parses each answer, as with the blocking client. aiohttp never resends
    a POST on its own (it retries a dropped keep-alive connection only for idempotent methods).
    """

    def __init__(self, *, base_url: str | None, timeout_s: float) -> None:
        super().__init__(logger=_SDK_LOG, is_async=True, timeout=timeout_s)
        self._wire = _Wire(base_url)
        self._limits: dict[float, aiohttp.ClientTimeout] = {}

    def _limits_for(self, wait: float) -> aiohttp.ClientTimeout:
        limits = self._limits.get(wait)
        if limits is None:  # total: a server that trickles its answer cannot hold a text for ever
            limits = self._limits[wait] = aiohttp.ClientTimeout(total=3 * wait, connect=wait, sock_read=wait)
        return limits

    async def request(
        self,
        method: str,
        url: str,
        params: Mapping[str, object] | None = None,
        data: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        """Send one request the SDK built; raise aiohttp's errors for `_aio_error` to sort."""
        url, body, sent = self._wire.prepare(url, params=params, data=data, headers=headers, auth=auth)
        async with _SEND_LOOP.session().request(
            method.upper(),
            URL(url, encoded=True),  # already encoded: yarl need not parse and quote it again
            data=body,
            headers=sent,
            allow_redirects=allow_redirects,
            proxy=self._wire.proxy,
            timeout=self._limits_for(timeout or self.timeout or 10.0),
        ) as answer:
            text = (await answer.read()).decode("utf-8", "replace")
            return Response(answer.status, text, answer.headers)


class _SendLoop:
    """One event loop per process, in a daemon thread of its own, running every gateway's concurrent sends.

    Its aiohttp session is shared by every gateway of the process (credentials travel in each request's
    headers), so connections to Twilio are pooled once per process, however many senders there are.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: tuple[int, asyncio.AbstractEventLoop] | None = None
        self._session: aiohttp.ClientSession | None = None
        # What a forked child inherited, kept and never touched: the parent's loop and connections share
        # their epoll instance with the child, so closing or collecting them here would unregister the
        # parent's sockets and wake-up pipe from it, and the parent's sends would wait for ever.
        self._inherited: list[object] = []

    def get(self) -> asyncio.AbstractEventLoop:
        """The loop, started on first use in this process (a forked child starts its own)."""
        with self._lock:
            owner = self._owner
            if owner is None or owner[0] != os.getpid():
                if owner is not None:
                    self._inherited.append((owner[1], self._session))
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="twilio-sends", daemon=True).start()
                owner = self._owner = (os.getpid(), loop)
                self._session = None
                atexit.register(self._close, os.getpid())
            return owner[1]

    def session(self) -> aiohttp.ClientSession:
        """The process's session; called on the loop, which makes it on first use."""
        if self._session is None:
            # At most 32 connections per host in each worker: a group's other texts wait for one (that
            # wait counts as connecting, so it is never mistaken for a text that may have arrived). More
            # buys nothing at a sender's pace, and a burst of new connections is what a server (and an
            # account's concurrency limit at Twilio, which answers 429 past it) copes with worst.
            connector = aiohttp.TCPConnector(limit=128, limit_per_host=32)
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    def _close(self, pid: int) -> None:
        owner, session = self._owner, self._session
        if owner is None or owner[0] != pid or pid != os.getpid():
            return  # a forked child leaving: what it inherited is the parent's to close
        loop = owner[1]
        if session is not None and not loop.is_closed():
            with contextlib.suppress(Exception):  # leaving: a loop already gone has nothing to close
                asyncio.run_coroutine_threadsafe(session.close(), loop).result(timeout=2)


_SEND_LOOP = _SendLoop()


def _form(values: Mapping[str, object]) -> str:
    """Form-encode as `requests` does: lists repeat the key, None leaves the key out."""
    return urlencode([(k, v) for k, v in values.items() if v is not None], doseq=True)


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
        http = _PooledClient(base_url=api_base_url, timeout_s=timeout_s)
        self._client = Client(account_sid, auth_token, http_client=http)
        sends = _AsyncPooledClient(base_url=api_base_url, timeout_s=timeout_s)
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
        created = asyncio.run_coroutine_threadsafe(self._create_all(texts), _SEND_LOOP.get())
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
