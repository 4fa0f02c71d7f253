"""Browser sessions: a signed cookie naming the API key a person signed in with, and a CSRF token.

The cookie holds no secret and no patient data: only the key's id, clinic, role, a CSRF token and
when it was issued. It is signed with HMAC-SHA256, so a browser can read it but not change it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass, replace

from outreach.clinics.models import Role
from outreach.config import Settings
from outreach.security import secrets as security_secrets

COOKIE = "outreach_session"
# A coordinator's shift; after that the person signs in again and comes back to the same page.
MAX_AGE_S = 12 * 3600


@dataclass(frozen=True, slots=True)
class WebSession:
    """What the cookie carries; key_id is None until the person signs in."""

    csrf: str
    issued_at: int
    key_id: uuid.UUID | None = None
    clinic_id: uuid.UUID | None = None
    role: Role | None = None

    @property
    def signed_in(self) -> bool:
        """True once a key has been checked."""
        return self.key_id is not None


def session_secret(settings: Settings) -> bytes:
    """The cookie-signing key: OUTREACH_SESSION_SECRET, or in dev the one generated in the data folder."""
    return security_secrets.session_secret(settings)


def anonymous(*, now: int) -> WebSession:
    """A session for someone not signed in yet (its CSRF token protects the sign-in form)."""
    return WebSession(csrf=secrets.token_urlsafe(24), issued_at=now)


def signed_in(*, key_id: uuid.UUID, clinic_id: uuid.UUID, role: Role, now: int) -> WebSession:
    """A fresh session for a checked key, with a new CSRF token (never the anonymous one)."""
    return replace(anonymous(now=now), key_id=key_id, clinic_id=clinic_id, role=Role(role))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(session: WebSession, *, secret: bytes) -> str:
    """The cookie value: base64 JSON, a dot, and its HMAC."""
    payload = {
        "x": session.csrf,
        "t": session.issued_at,
        "k": str(session.key_id) if session.key_id else None,
        "c": str(session.clinic_id) if session.clinic_id else None,
        "r": str(session.role) if session.role else None,
    }
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    return f"{body}.{_b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())}"


def decode(value: str, *, secret: bytes, now: int, max_age_s: int = MAX_AGE_S) -> WebSession | None:
    """The session in a cookie, or None when it is forged, malformed or older than max_age_s."""
    body, _, mac = value.partition(".")
    expected = _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())
    if not body or not hmac.compare_digest(mac, expected):
        return None
    try:
        data = json.loads(_unb64(body))
        session = WebSession(
            csrf=str(data["x"]),
            issued_at=int(data["t"]),
            key_id=uuid.UUID(data["k"]) if data["k"] else None,
            clinic_id=uuid.UUID(data["c"]) if data["c"] else None,
            role=Role(data["r"]) if data["r"] else None,
        )
    except (binascii.Error, ValueError, KeyError, TypeError):
        return None
    if not 0 <= now - session.issued_at <= max_age_s:
        return None
    return session
