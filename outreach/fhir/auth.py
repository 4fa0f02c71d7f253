"""Signing in to a clinic's FHIR server: a bearer token, or SMART Backend Services.

SMART Backend Services (hl7.org/fhir/smart-app-launch/backend-services.html): outreach signs a short JWT
(iss = sub = client id, aud = token URL, a fresh jti, 5 minutes) with the clinic's private key (RS384 or
ES384, PyJWT over `cryptography`) and trades it at the token URL for an access token with the
client-credentials grant. The token is kept until shortly before it expires; a 401 drops it.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from typing import Protocol

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_MARGIN_S = 30  # a token this close to its expiry is renewed before use


class AuthError(RuntimeError):
    """The FHIR server's token endpoint refused outreach; the message says what it answered."""


class Auth(Protocol):
    """What the FHIR client needs: a header value, and a way to drop a token the server refused."""

    def header(self, client: httpx.Client) -> str: ...

    def invalidate(self) -> None: ...


@dataclass
class BearerAuth:
    """A fixed token the clinic gave us."""

    token: str

    def header(self, client: httpx.Client) -> str:
        """The Authorization header value."""
        return f"Bearer {self.token}"

    def invalidate(self) -> None:
        """A fixed token cannot be renewed: the next 401 is final."""


def load_private_key(pem: str, algorithm: str) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    """The PEM private key, checked to suit the algorithm (RSA for RS384, P-384 for ES384)."""
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"is not an unencrypted PEM private key ({exc})") from None
    if algorithm == "RS384" and isinstance(key, rsa.RSAPrivateKey):
        return key
    if algorithm == "ES384" and isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp384r1":
        return key
    raise ValueError(f"does not suit {algorithm} (RS384 needs an RSA key, ES384 a P-384 EC key)")


@dataclass
class _Token:
    value: str
    expires_at: float


class SmartBackendAuth:
    """Client-credentials grant with a signed JWT assertion; the access token is cached until expiry."""

    def __init__(
        self, *, client_id: str, token_url: str, private_key_pem: str, algorithm: str, key_id: str, scope: str
    ) -> None:
        self.client_id, self.token_url, self.scope = client_id, token_url, scope
        self.algorithm, self.key_id = algorithm, key_id
        self._key = load_private_key(private_key_pem, algorithm)
        self._token: _Token | None = None
        self._lock = threading.Lock()

    def assertion(self, now: float) -> str:
        """A signed client assertion, valid for five minutes."""
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.token_url,
            "exp": int(now) + 300,
            "iat": int(now),
            "jti": uuid.uuid4().hex,
        }
        headers = {"kid": self.key_id, "typ": "JWT"} if self.key_id else {"typ": "JWT"}
        return jwt.encode(claims, self._key, algorithm=self.algorithm, headers=headers)

    def header(self, client: httpx.Client) -> str:
        """The Authorization header value, fetching a token when none is cached or it is about to expire."""
        with self._lock:
            now = time.time()
            if self._token is None or self._token.expires_at - _MARGIN_S <= now:
                self._token = self._fetch(client, now)
            return f"Bearer {self._token.value}"

    def _fetch(self, client: httpx.Client, now: float) -> _Token:
        form = {
            "grant_type": "client_credentials",
            "scope": self.scope,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(now),
        }
        response = client.post(self.token_url, data=form, headers={"Accept": "application/json"})
        if response.status_code != 200:
            raise AuthError(f"token endpoint answered {response.status_code}: {response.text[:200]}")
        body = response.json()
        if not body.get("access_token"):
            raise AuthError("token endpoint answered without an access_token")
        return _Token(str(body["access_token"]), now + float(body.get("expires_in", 300)))

    def invalidate(self) -> None:
        """Forget the cached token (the server said it is no longer good)."""
        with self._lock:
            self._token = None
