"""The web session secret: its own setting, required (and strong) in production, generated in dev.

It signs browser session cookies and keys the HMACs of rate-limit counters. It is never derived from the
webhook token: a known webhook secret must not let anyone forge a signed-in session.
In dev, with no setting, a random secret is created once in the data folder (readable by its owner only)
and every process of the installation reads the same file.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path

from outreach.config import MIN_SECRET_CHARS, Settings, weak_secret_reason

__all__ = ["MIN_SECRET_CHARS", "weak_secret_reason"]

SECRET_FILE = "session-secret"  # noqa: S105 (a file name)


@lru_cache(maxsize=8)
def _generated(folder: Path) -> bytes:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    value = secrets.token_urlsafe(48).encode()
    with os.fdopen(fd, "wb") as handle:
        handle.write(value)
    return value


def session_secret(settings: Settings) -> bytes:
    """OUTREACH_SESSION_SECRET, or (dev only) the one generated in the data folder."""
    configured = settings.session_secret.get_secret_value()
    if configured:
        return configured.encode()
    return _generated(settings.data_dir.resolve())
