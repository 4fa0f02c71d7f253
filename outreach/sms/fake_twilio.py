"""A local stand-in for Twilio's Messages API, for tests and benchmarks.

The real `twilio` SDK talks to it (TwilioGateway's `api_base_url`). It answers with Twilio's JSON shapes
and error bodies, can be slow or fail on purpose, records every create request, and sends status
callbacks signed exactly as Twilio signs them.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import re
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from outreach.sms.twilio import sign_request

_CREATE = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)/Messages\.json$")
_FETCH = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)/Messages/(?P<sid>SM\w+)\.json$")
# Set one as `mode` (every request) or queue some in `fail_next`; `stop()` makes the port refuse connections.
FAILURE_MODES = ("429", "500", "503", "accept_then_drop")


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
    form: dict[str, str] = field(default_factory=dict)

    def resource(self, account: str) -> dict[str, Any]:
        """The message as Twilio's API shows it."""
        stamp = format_datetime(self.created)
        return {
            "sid": self.sid,
            "account_sid": account,
            "to": self.to,
            "from": self.sender.get("From"),
            "messaging_service_sid": self.sender.get("MessagingServiceSid"),
            "body": self.body,
            "status": self.status,
            "num_segments": "1",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "date_created": stamp,
            "date_updated": stamp,
            "date_sent": stamp,
            "price": None,
            "price_unit": "USD",
            "error_code": None,
            "error_message": None,
            "num_media": "0",
            "subresource_uris": {},
            "uri": f"/2010-04-01/Accounts/{account}/Messages/{self.sid}.json",
        }


class FakeTwilio:
    """The fake server; use as a context manager: ``with FakeTwilio() as fake: fake.url``."""

    def __init__(
        self,
        *,
        account_sid: str = "AC" + "0" * 32,
        auth_token: str = "fake-auth-token",  # noqa: S107 - the fake's own credential
        port: int = 0,
    ) -> None:
        self.account_sid, self.auth_token = account_sid, auth_token
        self.latency_s = 0.0
        self.mode: str | None = None
        self.fail_next: list[str] = []
        self.number_errors: dict[str, int] = {}
        self.messages: dict[str, FakeMessage] = {}
        self.creates: list[FakeMessage] = []
        self.requests_per_callback: Counter[str] = Counter()
        self.lock = threading.Lock()
        self._port = port
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """Base URL to give TwilioGateway as `api_base_url`."""
        return f"http://127.0.0.1:{self._port}"

    def __enter__(self) -> FakeTwilio:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> None:
        """Listen (again) on the same port."""
        server = ThreadingHTTPServer(("127.0.0.1", self._port), _handler_for(self))
        server.daemon_threads = True
        server.request_queue_size = 256
        self._port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        """Stop listening: new connections are refused."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def create(self, form: dict[str, str]) -> tuple[int, dict[str, Any] | None]:
        """Handle a Messages create; returns (HTTP status, body), body None for accept-then-drop."""
        with self.lock:
            mode = self.fail_next.pop(0) if self.fail_next else self.mode
        if mode in ("429", "500", "503"):
            return int(mode), _error(20429 if mode == "429" else 20500, "Service unavailable", int(mode))
        to = form.get("To", "")
        if to in self.number_errors:
            code = self.number_errors[to]
            return 400, _error(code, f"Error {code} for this number", 400)
        sender: dict[str, str] = {k: form[k] for k in ("From", "MessagingServiceSid") if k in form}
        message = FakeMessage(
            sid="SM" + secrets.token_hex(16),
            to=to,
            body=form.get("Body", ""),
            sender=sender,
            status_callback=form.get("StatusCallback"),
            created=datetime.now(UTC),
            form=form,
        )
        with self.lock:
            self.messages[message.sid] = message
            self.creates.append(message)
            self.requests_per_callback[message.status_callback or message.sid] += 1
        if mode == "accept_then_drop":
            return 201, None
        return 201, message.resource(self.account_sid)

    def list_messages(self, query: dict[str, str]) -> dict[str, Any]:
        """Messages filtered by To and DateSent>= as Twilio's list endpoint does."""
        after = query.get("DateSent>")
        since = datetime.fromisoformat(after.replace("Z", "+00:00")) if after else None
        with self.lock:
            found = [
                m
                for m in self.creates
                if m.to == query.get("To", m.to) and (since is None or m.created >= since)
            ]
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        return {
            "messages": [m.resource(self.account_sid) for m in found[-50:]],
            "page": 0,
            "page_size": 50,
            "start": 0,
            "end": len(found),
            "uri": uri,
            "first_page_uri": uri,
            "next_page_uri": None,
            "previous_page_uri": None,
        }

    def send_callbacks(self, sid: str, statuses: list[str], *, error_code: int | None = None) -> list[int]:
        """POST signed status callbacks for a message, as Twilio would; returns the HTTP statuses."""
        message = self.messages[sid]
        if not message.status_callback:
            return []
        answers = []
        for status in statuses:
            message.status = status
            form = {
                "MessageSid": sid,
                "MessageStatus": status,
                "AccountSid": self.account_sid,
                "To": message.to,
            }
            if error_code is not None and status in ("undelivered", "failed"):
                form["ErrorCode"] = str(error_code)
            signature = sign_request(auth_token=self.auth_token, url=message.status_callback, params=form)
            response = requests.post(
                message.status_callback, data=form, headers={"X-Twilio-Signature": signature}, timeout=10
            )
            answers.append(response.status_code)
        return answers


def _error(code: int, message: str, status: int) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _handler_for(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in two writes; do not wait 40 ms on ACKs

        def log_message(self, format: str, *args: Any) -> None:  # silence per-request logs
            return

        def _authorized(self) -> bool:
            expected = base64.b64encode(f"{fake.account_sid}:{fake.auth_token}".encode()).decode()
            return self.headers.get("Authorization") == f"Basic {expected}"

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(data)  # the client may have given up waiting (a timeout test)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if fake.latency_s:
                time.sleep(fake.latency_s)
            if not _CREATE.match(urlsplit(self.path).path):
                return self._answer(404, _error(20404, "Not found", 404))
            if not self._authorized():
                return self._answer(401, _error(20003, "Authenticate", 401))
            status, body = fake.create(form)
            if body is None:  # accept-then-drop: the message exists, the answer never comes
                self.close_connection = True
                return None
            return self._answer(status, body)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if not self._authorized():
                return self._answer(401, _error(20003, "Authenticate", 401))
            fetched = _FETCH.match(parts.path)
            if fetched:
                message = fake.messages.get(fetched["sid"])
                if message is None:
                    return self._answer(404, _error(20404, "Not found", 404))
                return self._answer(200, message.resource(fake.account_sid))
            if _CREATE.match(parts.path):
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                return self._answer(200, fake.list_messages(query))
            return self._answer(404, _error(20404, "Not found", 404))

    return Handler


def main() -> None:
    """Run the fake as a process: ``python -m outreach.sms.fake_twilio --port 8099 --latency-ms 10``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    fake = FakeTwilio(port=args.port)
    fake.latency_s = args.latency_ms / 1000
    fake.start()
    print(f"fake Twilio on {fake.url} (account {fake.account_sid}, token {fake.auth_token})", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
