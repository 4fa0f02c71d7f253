"""Subaccount auth tokens at rest: Fernet (AES-128-CBC with HMAC-SHA256) from `cryptography`.

The keys come from OUTREACH_CREDENTIALS_KEY: one or more Fernet keys separated by commas, the first
encrypting and all of them decrypting, so a key is rotated by putting the new one first. In dev mode
without the setting, a key is made once in the data directory (mode 0600); production refuses to store
or read a token without the setting.
"""

from __future__ import annotations

import os
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from outreach.config import ConfigError, Settings


def _dev_key(settings: Settings) -> bytes:
    path = settings.data_dir / "credentials.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(Fernet.generate_key())
    return path.read_bytes().strip()


@lru_cache(maxsize=8)
def _fernet(keys: str) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.strip().encode()) for key in keys.split(",") if key.strip()])
    except ValueError:
        raise ConfigError(
            "OUTREACH_CREDENTIALS_KEY: each key must be a Fernet key (32 url-safe base64-encoded bytes)"
        ) from None


def cipher(settings: Settings) -> MultiFernet:
    """The keys for this deployment; ConfigError in production when none is set."""
    keys = settings.credentials_key.get_secret_value()
    if not keys:
        if settings.env == "production":
            raise ConfigError(
                "OUTREACH_CREDENTIALS_KEY is not set: subaccount tokens cannot be stored or read"
            )
        keys = _dev_key(settings).decode()
    return _fernet(keys)


def encrypt(settings: Settings, token: str) -> str:
    """The token, encrypted for storage."""
    return cipher(settings).encrypt(token.encode()).decode()


def decrypt(settings: Settings, stored: str) -> str:
    """A stored token in the clear; ConfigError when no configured key can read it."""
    try:
        return cipher(settings).decrypt(stored.encode()).decode()
    except InvalidToken:
        raise ConfigError(
            "OUTREACH_CREDENTIALS_KEY cannot decrypt a stored subaccount token (was the key replaced "
            "instead of rotated? put the new key first and keep the old one after it)"
        ) from None
