"""A local stand-in for Twilio's Messages API, for tests and benchmarks.

The real `twilio` SDK talks to it through TwilioGateway's `api_base_url`. It answers with Twilio's JSON
shapes and error bodies, can be slow or fail on purpose, records every create request, and sends status
callbacks signed exactly as Twilio signs them. Run alone: ``python -m fakes.twilio --port 8099``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import re
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from outreach.sms.twilio import sign_request

_MESSAGES = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)/Messages\.json$")
_MESSAGE = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)/Messages/(?P<sid>SM\w+)\.json$")
# `mode` applies to every create; `fail_next` to the next few. "refuse" closes the listening socket.
FAILURE_MODES = ("refuse", "429", "500", "502", "503", "504", "accept_then_drop")
_HTTP_FAILURES = ("429", "500", "502", "503", "504")
_FINAL_WITH_ERROR = ("undelivered", "failed")
_CONSTANT_FIELDS = {"num_segments": "1", "num_media": "0", "direction": "outbound-api", "price": None}
_CONSTANT_FIELDS |= {"api_version": "2010-04-01", "price_unit": "USD", "error_message": None}


@dataclass
class FakeMessage:
    """One message the fake accepted."""

    sid: str
    to: str
    body: str
    sender: dict[str, str]
    status_callback: str | None
    created: datetime
    status: str = "queued"
    sent: datetime | None = None
    error_code: int | None = None
    form: dict[str, str] = field(default_factory=dict)

    def resource(self, account: str) -> dict[str, Any]:
        """The message as Twilio's API shows it (Twilio never echoes the StatusCallback URL)."""
        uri, stamp = f"/2010-04-01/Accounts/{account}/Messages/{self.sid}", format_datetime
        return {
            **_CONSTANT_FIELDS,
            "sid": self.sid,
            "account_sid": account,
            "to": self.to,
            "from": self.sender.get("From"),
            "messaging_service_sid": self.sender.get("MessagingServiceSid"),
            "body": self.body,
            "status": self.status,
            "error_code": self.error_code,
            "date_created": stamp(self.created, usegmt=True),
            "date_updated": stamp(self.sent or self.created, usegmt=True),
            "date_sent": stamp(self.sent, usegmt=True) if self.sent else None,
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "uri": f"{uri}.json",
        }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Read when the socket starts listening, in the constructor: a burst of workers connecting at once
    # must not overflow the queue of connections waiting to be accepted (the default holds 5).
    request_queue_size = 4096


class FakeTwilio:
    """The fake server; as a context manager: ``with FakeTwilio() as fake: fake.url``."""

    def __init__(
        self,
        *,
        account_sid: str = "AC" + "0" * 32,
        auth_token: str = "fake-auth-token",  # noqa: S107 - the fake's own credential
        port: int = 0,
    ) -> None:
        self.account_sid, self.auth_token = account_sid, auth_token
        self.latency_s = 0.0
        self.fail_next: list[str] = []
        self.number_errors: dict[str, int] = {}
        self.auto_callbacks: list[str] = []  # e.g. ["sent", "delivered"], sent `callback_delay_s` later
        self.auto_error_code: int | None = None
        self.callback_delay_s = 0.05
        self.messages: dict[str, FakeMessage] = {}
        self.creates: list[FakeMessage] = []
        self.requests_per_callback: Counter[str] = Counter()
        self.lock = threading.Lock()
        self._mode: str | None = None
        self._port = port
        self._server: _Server | None = None
        self._connections: set[socket.socket] = set()

    @property
    def url(self) -> str:
        """Base URL to give TwilioGateway as `api_base_url`."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def mode(self) -> str | None:
        """The failure every create meets (one of FAILURE_MODES), or None to behave."""
        return self._mode

    @mode.setter
    def mode(self, value: str | None) -> None:
        if value is not None and value not in FAILURE_MODES:
            raise ValueError(f"mode must be one of {FAILURE_MODES} or None")
        self._mode = value
        if value == "refuse":
            self.stop()
        elif self._server is None:
            self.start()

    def __enter__(self) -> FakeTwilio:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> None:
        """Listen (again, on the same port once one was chosen)."""
        server = _Server(("127.0.0.1", self._port), handler_for(self))
        self._port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        """Stop listening: new connections are refused."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self.lock:  # a server that went away drops its kept-alive connections too
            for connection in self._connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)

    def requests_for(self, message_id: str) -> int:
        """How many create requests carried this message id in their StatusCallback URL."""
        with self.lock:
            return sum(n for url, n in self.requests_per_callback.items() if _message_id(url) == message_id)

    def create(self, form: dict[str, str]) -> tuple[int, dict[str, Any] | None]:
        """Handle a Messages create; returns (HTTP status, body), body None for accept-then-drop."""
        with self.lock:
            mode = self.fail_next.pop(0) if self.fail_next else self._mode
        if mode in _HTTP_FAILURES:  # Twilio's codes for these are 20 followed by the HTTP status
            return int(mode), error_body(int(f"20{mode}"), "Twilio could not take the request now", int(mode))
        to = form.get("To", "")
        if to in self.number_errors:
            code = self.number_errors[to]
            return 400, error_body(code, f"The 'To' number {to} cannot receive this message", 400)
        message = FakeMessage(
            sid="SM" + secrets.token_hex(16),
            to=to,
            body=form.get("Body", ""),
            sender={k: form[k] for k in ("From", "MessagingServiceSid") if k in form},
            status_callback=form.get("StatusCallback"),
            created=datetime.now(UTC).replace(microsecond=0),  # Twilio's dates have whole seconds
            form=form,
        )
        with self.lock:
            self.messages[message.sid] = message
            self.creates.append(message)
            self.requests_per_callback[message.status_callback or message.sid] += 1
        if self.auto_callbacks and message.status_callback:
            args = (message.sid, list(self.auto_callbacks), self.auto_error_code)
            timer = threading.Timer(self.callback_delay_s, self._quiet_callbacks, args)
            timer.daemon = True
            timer.start()
        return (201, None) if mode == "accept_then_drop" else (201, message.resource(self.account_sid))

    def list_messages(self, query: dict[str, str]) -> dict[str, Any]:
        """One page of messages, newest first, filtered by To and DateSent like Twilio's list."""
        size, page = min(int(query.get("PageSize", 50)), 1000), int(query.get("Page", 0))
        with self.lock:
            found = [m for m in reversed(self.creates) if _matches(m, query)]
        base = {k: v for k, v in query.items() if k not in ("Page", "PageSize", "PageToken")}

        def uri(number: int) -> str:
            query = urlencode({**base, "Page": number, "PageSize": size})
            return f"/2010-04-01/Accounts/{self.account_sid}/Messages.json?{query}"

        shown = found[page * size : (page + 1) * size]
        return {
            "messages": [m.resource(self.account_sid) for m in shown],
            **{"page": page, "page_size": size, "start": page * size, "end": page * size + len(shown) - 1},
            **{"uri": uri(page), "first_page_uri": uri(0), "previous_page_uri": None},
            "next_page_uri": uri(page + 1) if len(found) > (page + 1) * size else None,
        }

    def send_callbacks(
        self, sid: str, statuses: Iterable[str], *, error_code: int | None = None
    ) -> list[int]:
        """POST signed status callbacks for a message, as Twilio would; returns the HTTP statuses."""
        message = self.messages[sid]
        if not message.status_callback:
            return []
        answers = []
        for status in statuses:
            form = self._advance(message, status, error_code)
            signature = sign_request(auth_token=self.auth_token, url=message.status_callback, params=form)
            response = requests.post(
                message.status_callback, data=form, headers={"X-Twilio-Signature": signature}, timeout=10
            )
            answers.append(response.status_code)
        return answers

    def _advance(self, message: FakeMessage, status: str, error_code: int | None) -> dict[str, str]:
        """Move a message to `status` and return the callback form Twilio would post."""
        with self.lock:
            message.status = status
            if status != "queued" and message.sent is None:
                message.sent = datetime.now(UTC).replace(microsecond=0)
            if status in _FINAL_WITH_ERROR and error_code is not None:
                message.error_code = error_code
        form = {"AccountSid": self.account_sid, "ApiVersion": "2010-04-01", "To": message.to}
        form |= {
            "MessageSid": message.sid,
            "SmsSid": message.sid,
            "MessageStatus": status,
            "SmsStatus": status,
        }
        form |= message.sender
        if status in _FINAL_WITH_ERROR and error_code is not None:
            form["ErrorCode"] = str(error_code)
        return form

    def _quiet_callbacks(self, sid: str, statuses: list[str], error_code: int | None) -> None:
        """Automatic callbacks: a receiver that is down is Twilio's problem, not the fake's."""
        with contextlib.suppress(requests.RequestException):
            self.send_callbacks(sid, statuses, error_code=error_code)


def _message_id(callback_url: str) -> str | None:
    values = parse_qs(urlsplit(callback_url).query).get("message_id")
    return values[0] if values else None


def _matches(message: FakeMessage, query: dict[str, str]) -> bool:
    """Twilio's list filters; DateSent compares `date_sent`, which a queued message does not have yet."""
    if query.get("To", message.to) != message.to:
        return False
    if "DateSent>" not in query:
        return True
    after = datetime.fromisoformat(query["DateSent>"].replace("Z", "+00:00"))
    return message.sent is not None and message.sent >= after.replace(tzinfo=after.tzinfo or UTC)


def error_body(code: int, message: str, status: int) -> dict[str, Any]:
    """Twilio's error JSON."""
    more = f"https://www.twilio.com/docs/errors/{code}"
    return {"code": code, "message": message, "more_info": more, "status": status}


def handler_for(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    """The request handler class bound to one fake."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like Twilio; the SDK pools connections
        disable_nagle_algorithm = True  # headers and body are two writes; do not wait 40 ms on ACKs

        def log_message(self, format: str, *args: Any) -> None:
            return  # request lines carry phone numbers in list queries

        def setup(self) -> None:
            super().setup()
            with fake.lock:
                fake._connections.add(self.connection)

        def finish(self) -> None:
            with fake.lock:
                fake._connections.discard(self.connection)
            with contextlib.suppress(OSError):
                super().finish()

        def _answer(self, status: int, body: dict[str, Any] | None) -> None:
            if body is None:  # accept-then-drop: the message exists, the answer never comes
                self.close_connection = True
                return
            data = json.dumps(body).encode()
            # The client may have given up waiting (a timeout test) and closed its end.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        def _route(self) -> tuple[int, dict[str, Any] | None]:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            time.sleep(fake.latency_s)
            pair = base64.b64encode(f"{fake.account_sid}:{fake.auth_token}".encode()).decode()
            if self.headers.get("Authorization") != f"Basic {pair}":
                return 401, error_body(20003, "Authenticate", 401)
            one, many = _MESSAGE.match(parts.path), _MESSAGES.match(parts.path)
            if self.command == "POST" and many:
                return fake.create(form)
            if self.command == "GET" and many:
                return 200, fake.list_messages({k: v[0] for k, v in parse_qs(parts.query).items()})
            if self.command == "GET" and one and one["sid"] in fake.messages:
                return 200, fake.messages[one["sid"]].resource(fake.account_sid)
            return 404, error_body(20404, "The requested resource was not found", 404)

        def do_GET(self) -> None:
            self._answer(*self._route())

        do_POST = do_GET

    return Handler


def main(argv: list[str] | None = None) -> None:
    """Run the fake as a process until interrupted."""
    parser = argparse.ArgumentParser(description="A local fake of Twilio's Messages API")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    with FakeTwilio(port=args.port) as fake:
        fake.latency_s = args.latency_ms / 1000
        print(f"fake Twilio on {fake.url} (account {fake.account_sid})", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
