"""Encrypting FHIR credentials at rest (Fernet: AES-128-CBC with HMAC-SHA256, from `cryptography`).

The key is OUTREACH_FHIR_CREDENTIALS_KEY (a Fernet key: 32 url-safe base64 bytes). In dev mode with no
key set, a fixed development key is used so the embedded default works; production refuses to start
a sync or store a credential without a real key.
"""

from __future__ import annotations

import base64
import hashlib
import os
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from outreach.config import ConfigError


class FhirSettings(BaseSettings):
    """FHIR settings an operator can set (OUTREACH_FHIR_*)."""

    model_config = SettingsConfigDict(env_prefix="OUTREACH_FHIR_", env_file=".env", extra="ignore")

    credentials_key: SecretStr = SecretStr("")
    env: str = "dev"  # read from OUTREACH_ENV below
    sync_lock_s: int = 900
    request_timeout_s: float = 30.0
    max_retries: int = 4


@lru_cache(maxsize=1)
def fhir_settings() -> FhirSettings:
    """The process-wide FHIR settings."""
    return FhirSettings(env=os.environ.get("OUTREACH_ENV", "dev"))


def _fernet() -> Fernet:
    settings = fhir_settings()
    key = settings.credentials_key.get_secret_value()
    if key:
        try:
            return Fernet(key.encode())
        except ValueError:
            raise ConfigError(
                "OUTREACH_FHIR_CREDENTIALS_KEY: not a Fernet key (32 url-safe base64 bytes)"
            ) from None
    if settings.env == "production":
        raise ConfigError("OUTREACH_FHIR_CREDENTIALS_KEY must be set in production to store FHIR credentials")
    development = hashlib.sha256(b"outreach development FHIR credentials key").digest()
    return Fernet(base64.urlsafe_b64encode(development))


def encrypt(secret: str) -> str:
    """The secret, encrypted for the database."""
    return _fernet().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    """A stored secret in the clear (only ever to sign in to the clinic's FHIR server)."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ConfigError(
            "a stored FHIR credential cannot be decrypted with OUTREACH_FHIR_CREDENTIALS_KEY"
        ) from None
