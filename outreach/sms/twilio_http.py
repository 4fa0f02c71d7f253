"""The Twilio SDK's HTTP transports: how its requests travel, never what they say.

The SDK builds every request (URL, form, credentials) and parses every answer; these only carry them.
- `PooledClient`, blocking, on a urllib3 pool: status look-ups. Plain urllib3 instead of the SDK's
  default `requests` session, which spends more CPU preparing a request than urllib3 spends sending it.
- `AsyncPooledClient`, on aiohttp: texts are created through it, a group at a time, on one event loop
  per process (`SEND_LOOP`, a thread of its own). A send costs about half the CPU of the blocking client
  on threads: aiohttp parses the answer in C, and no thread switch sits between requests.
Neither retries anything: only `outreach.sms.twilio` knows what is safe to send again. Both are
thread-safe; a forked child builds its own loop on first use.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import contextlib
import json
import logging
import os
import re
import threading
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp
import urllib3
from twilio.http import AsyncHttpClient, HttpClient
from twilio.http.response import Response
from yarl import URL

# The SDK builds https://api.twilio.com, or https://api.{edge}.{region}.twilio.com when TWILIO_REGION /
# TWILIO_EDGE are set in the environment; an override must catch both or requests would leak to Twilio.
_TWILIO_API = re.compile(r"^https://api(\.[a-z0-9-]+)*\.twilio\.com")

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


class PooledClient(HttpClient):  # type: ignore[misc]
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
        """Send one request the SDK built; raise urllib3's errors for the gateway to sort."""
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


class AsyncPooledClient(AsyncHttpClient):  # type: ignore[misc]
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
        """Send one request the SDK built; raise aiohttp's errors for the gateway to sort."""
        url, body, sent = self._wire.prepare(url, params=params, data=data, headers=headers, auth=auth)
        async with SEND_LOOP.session().request(
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


SEND_LOOP = _SendLoop()


def _form(values: Mapping[str, object]) -> str:
    """Form-encode as `requests` does: lists repeat the key, None leaves the key out."""
    return urlencode([(k, v) for k, v in values.items() if v is not None], doseq=True)
