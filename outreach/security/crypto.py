"""Phone numbers (and patients' birth dates and ZIP codes) at rest: encrypted (Fernet), numbers found by a
keyed hash (HMAC-SHA256 blind index).

A stored number is a Fernet token (AES-128-CBC with HMAC-SHA256, from `cryptography`) under the newest of
OUTREACH_PHI_KEYS; every key in that list can still read. Lookups never decrypt: a number is found by its
blind index, the first 160 bits of HMAC-SHA256(number) in hex under the newest of OUTREACH_PHI_INDEX_KEYS,
stored beside the token and indexed. Until `outreach keys rotate` has rewritten every row, a lookup also
accepts the index under the previous index key, so inbound routing keeps finding patients while keys change.
Only the last four digits are kept in the clear, for the front desk's "the one ending 0107". A patient's
birth date and ZIP code are encrypted the same way (`EncryptedDate`, `EncryptedText`) and never looked up;
the report reads the birth year and the first three ZIP digits kept beside them
(`outreach/patients/attributes.clear_columns`).

In dev mode with neither setting, a key of each kind is made once in the data folder (readable by its
owner only) and every process of the installation reads the same files; production refuses to start
without both settings (`config.Settings`).

Which keyring is in use is process-wide (`use` at startup, else the settings of the environment), because
the ORM column type that encrypts and decrypts has no settings of its own.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import BindParameter, ColumnElement, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from outreach.config import ConfigError, Settings, get_settings

HASH_CHARS = 40  # 160 bits of HMAC-SHA256, in hex: "n:" + a hash still fits a thread's party column
ENCRYPTION_FILE = "phi-encryption.keys"
INDEX_FILE = "phi-index.keys"
# Lookups accept the newest index key and the one before it: the rotation's overlap.
LOOKUP_KEYS = 2
READ_CACHE = 20_000  # decrypted tokens a process remembers (about 5 MB)


@dataclass(frozen=True, slots=True)
class Keyring:
    """The keys phone numbers are encrypted and indexed with, newest first."""

    cipher: MultiFernet
    index_keys: tuple[bytes, ...]
    # Tokens read recently, in the clear: a page read again (the coordinator queue, a patient list) does
    # not pay ~30 µs of HMAC and AES per number each time. Bounded; a process holds these numbers anyway.
    _read: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def encrypt(self, value: str) -> str:
        """The value as a token under the newest key ("" stays "": no number, nothing to hide)."""
        return self.cipher.encrypt(value.encode()).decode() if value else ""

    def decrypt(self, token: str) -> str:
        """A stored token in the clear; ConfigError when no configured key can read it."""
        if not token:
            return ""
        known = self._read.get(token)
        if known is not None:
            return known
        try:
            clear = self.cipher.decrypt(token.encode()).decode()
        except InvalidToken:
            raise ConfigError(
                "OUTREACH_PHI_KEYS cannot decrypt a stored phone number or identifier (was a key replaced "
                "instead of rotated? put the new key first, keep the old ones after it, then run "
                "`outreach keys rotate`)"
            ) from None
        if len(self._read) >= READ_CACHE:
            self._read.clear()
        self._read[token] = clear
        return clear

    def reencrypt(self, token: str) -> str:
        """The token re-encrypted under the newest key (what rotation writes)."""
        return self.cipher.rotate(token.encode()).decode() if token else ""

    def index(self, phone: str) -> str:
        """The blind index of a number under the newest index key ("" for no number)."""
        return _hmac(self.index_keys[0], phone)

    def lookups(self, phone: str) -> tuple[str, str]:
        """The indexes a stored row of this number may have: newest key's, then the previous key's."""
        keys = self.index_keys[:LOOKUP_KEYS]
        first = _hmac(keys[0], phone)
        return first, _hmac(keys[-1], phone) if len(keys) > 1 else first


def _hmac(key: bytes, phone: str) -> str:
    if not phone:
        return ""
    return hmac.new(key, phone.encode(), hashlib.sha256).hexdigest()[:HASH_CHARS]


def last4(phone: str) -> str:
    """The last four digits, the only part of a number stored in the clear."""
    return "".join(ch for ch in phone if ch.isdigit())[-4:]


def phone_columns(phone: str, *, keyring: Keyring | None = None) -> dict[str, str]:
    """A patient's index columns for a number in the clear (the bulk writers add these to each row)."""
    ring = keyring or active()
    return {"phone_hash": ring.index(phone), "phone_last4": last4(phone)}


def indexed(column: Any, phone: str) -> ColumnElement[bool]:
    """The rows whose blind-index `column` is this number's (under the newest or the previous key)."""
    return column.in_(sorted(set(active().lookups(phone))))  # type: ignore[no-any-return]


def _split(keys: str) -> list[str]:
    return [key.strip() for key in keys.split(",") if key.strip()]


def _dev_keys(folder: Path, name: str, make: Any) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    value: str = make()
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


@lru_cache(maxsize=16)
def _keyring(encryption: str, index: str) -> Keyring:
    try:
        cipher = MultiFernet([Fernet(key.encode()) for key in _split(encryption)])
    except ValueError:
        raise ConfigError(
            "OUTREACH_PHI_KEYS: each key must be a Fernet key (32 url-safe base64-encoded bytes)"
        ) from None
    return Keyring(cipher=cipher, index_keys=tuple(key.encode() for key in _split(index)))


def keyring_for(settings: Settings) -> Keyring:
    """The deployment's keyring: the settings, or (dev only) the keys generated in the data folder."""
    encryption = settings.phi_keys.get_secret_value()
    index = settings.phi_index_keys.get_secret_value()
    if not _split(encryption) or not _split(index):
        if settings.env == "production":
            raise ConfigError("OUTREACH_PHI_KEYS and OUTREACH_PHI_INDEX_KEYS must be set in production")
        folder = settings.data_dir.resolve()
        if not _split(encryption):
            encryption = _dev_keys(folder, ENCRYPTION_FILE, lambda: Fernet.generate_key().decode())
        if not _split(index):
            index = _dev_keys(folder, INDEX_FILE, lambda: secrets.token_urlsafe(48))
    return _keyring(encryption, index)


_active: Keyring | None = None


def use(settings: Settings) -> Keyring:
    """Make this deployment's keyring the process's (the app, workers and CLI call it at startup)."""
    global _active  # noqa: PLW0603 (one keyring per process, like the settings)
    _active = keyring_for(settings)
    return _active


def active() -> Keyring:
    """The process's keyring (the environment's settings until `use` is called)."""
    return _active if _active is not None else use(get_settings())


def _refuse_values(others: tuple[Any, ...]) -> None:
    for other in others:
        if other is not None and (not isinstance(other, ColumnElement) or isinstance(other, BindParameter)):
            raise TypeError("an encrypted column cannot be compared: compare its blind index instead")


class EncryptedText(TypeDecorator[str]):
    """A text column stored as a Fernet token and read back in the clear.

    Comparing it in SQL would compare tokens (never equal: each encryption is randomised), so any
    comparison raises: look a number up by its blind index column instead.
    """

    impl = Text
    cache_ok = True

    class comparator_factory(TypeDecorator.Comparator[str]):
        """Refuses comparisons with values (SQLAlchemy itself compares columns with columns)."""

        def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
            """Comparing ciphertexts finds nothing; say so at once."""
            _refuse_values(other)
            return super().operate(op, *other, **kwargs)

        def reverse_operate(self, op: Any, other: Any, **kwargs: Any) -> Any:
            """As `operate`."""
            _refuse_values((other,))
            return super().reverse_operate(op, other, **kwargs)

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        """Encrypt on the way in."""
        return None if value is None else active().encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        """Decrypt on the way out."""
        return None if value is None else active().decrypt(value)


class EncryptedDate(TypeDecorator[date]):
    """A date column stored as a Fernet token of its ISO form and read back as a date; never compared."""

    impl = Text
    cache_ok = True
    comparator_factory = EncryptedText.comparator_factory

    def process_bind_param(self, value: date | None, dialect: Dialect) -> str | None:
        """Encrypt on the way in."""
        return None if value is None else active().encrypt(value.isoformat())

    def process_result_value(self, value: str | None, dialect: Dialect) -> date | None:
        """Decrypt on the way out."""
        return None if value is None else date.fromisoformat(active().decrypt(value))


def is_sealed(column: Any) -> bool:
    """Whether a table column stores its values encrypted."""
    return isinstance(column.type, EncryptedText | EncryptedDate)
