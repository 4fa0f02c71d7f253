"""A tiny webhook receiver that records what the fake Twilio posts to a StatusCallback URL."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass(frozen=True)
class Received:
    """One callback as it arrived: full URL, form fields, signature header."""

    url: str
    form: dict[str, str]
    signature: str


class CallbackReceiver:
    """Listens on loopback and answers 204 to every POST, like our status webhook."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                url = f"{receiver.base_url}{self.path}"
                receiver.received.append(Received(url, form, self.headers.get("X-Twilio-Signature", "")))
                self.send_response(204)
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> CallbackReceiver:
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, count: int, *, timeout_s: float = 3.0) -> list[Received]:
        """The callbacks received once there are at least `count` (fails the test after the timeout)."""
        deadline = time.monotonic() + timeout_s
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(self.received) >= count, f"expected {count} callbacks, got {len(self.received)}"
        return list(self.received)
