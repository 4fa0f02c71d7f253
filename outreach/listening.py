"""Where the service listens, carried to everything that calls it (the simulator's replies, `outreach demo`).

The simulator's phones reply through the real signed webhook, posted to ``OUTREACH_PUBLIC_BASE_URL``.
When that is not set, a service started with ``--port 8101`` must call itself on 8101, not on the
default 8000: the port is put into the environment before the settings are read, so the server, its
worker processes, the Celery worker and the scheduler all see the same URL. An operator's own setting
(an https URL Twilio calls) always wins.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

from outreach.config import ConfigError, Settings, load_settings

ENV = "OUTREACH_PUBLIC_BASE_URL"
RECORD = "listening.url"


def local_url(host: str, port: int) -> str:
    """The URL this machine reaches a server on host:port at (a wildcard host is reached on loopback)."""
    shown = "127.0.0.1" if host in {"0.0.0.0", "", "::"} else host  # noqa: S104 (a name, not a bind)
    return f"http://{shown}:{port}"


def carry_port(*, host: str, port: int) -> str:
    """Unless the operator set the public URL, make it this server's own; return the URL in effect."""
    try:
        chosen = load_settings().model_fields_set
    except ConfigError:
        chosen = set()  # the caller reads the settings again and reports the problem
    if ENV not in os.environ and "public_base_url" not in chosen:
        os.environ[ENV] = local_url(host, port)
    return os.environ.get(ENV) or load_settings().public_base_url


def _record_path(settings: Settings) -> Path:
    return settings.data_dir / RECORD


def record(settings: Settings, url: str) -> None:
    """Note where the server listens, for `outreach demo` run from another terminal."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _record_path(settings).write_text(url + "\n", encoding="utf-8")


def forget(settings: Settings, url: str) -> None:
    """Remove the note when this server stops (only if it is still this server's)."""
    path = _record_path(settings)
    if path.is_file() and path.read_text(encoding="utf-8").strip() == url:
        path.unlink()


def answers(url: str) -> bool:
    """Whether something accepts connections at the URL's host and port."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=0.5):
            return True
    except OSError:
        return False


def serving_url(settings: Settings) -> str:
    """The URL a running server noted, if it still answers there; else the configured public URL."""
    path = _record_path(settings)
    if path.is_file():
        noted = path.read_text(encoding="utf-8").strip()
        if noted and answers(noted):
            return noted
    return settings.public_base_url.rstrip("/")
