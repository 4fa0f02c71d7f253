"""API keys: minted once, stored as hashes, each acting for one clinic in one role."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass

from sqlmodel import Session, select

from outreach.clinics.models import ApiKey, Clinic, Role
from outreach.db import utcnow
from outreach.tenancy import find_owned

_KEY_PREFIX = "ok_"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's clinic and role."""

    key_id: uuid.UUID
    clinic_id: uuid.UUID
    role: Role


def _hash(secret: str) -> str:
    # Keys carry 256 bits of randomness, so a fast hash is enough; a slow KDF would only add latency.
    return hashlib.sha256(secret.encode()).hexdigest()


def mint_key(*, session: Session, clinic_id: uuid.UUID, role: Role, name: str = "") -> str:
    """Create a key and return its full text; only the hash is stored."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    session.add(ApiKey(clinic_id=clinic_id, role=role, name=name, prefix=prefix, secret_hash=_hash(secret)))
    session.flush()
    return f"{_KEY_PREFIX}{prefix}_{secret}"


def authenticate(*, session: Session, presented: str) -> Principal | None:
    """The principal for a presented key, or None when it is unknown, malformed or revoked."""
    if not presented.startswith(_KEY_PREFIX):
        return None
    prefix, _, secret = presented.removeprefix(_KEY_PREFIX).partition("_")
    if not prefix or not secret:
        return None
    key = session.exec(select(ApiKey).where(ApiKey.prefix == prefix)).first()
    if key is None or key.revoked_at is not None:
        return None
    if not hmac.compare_digest(key.secret_hash, _hash(secret)):
        return None
    return Principal(key_id=key.id, clinic_id=key.clinic_id, role=Role(key.role))


def revoke_key(*, session: Session, clinic_id: uuid.UUID, key_id: uuid.UUID) -> bool:
    """Revoke a clinic's key; False when it is not that clinic's."""
    key = find_owned(session, ApiKey, key_id, clinic_id=clinic_id)
    if key is None:
        return False
    key.revoked_at = utcnow()
    session.add(key)
    return True


def active_clinic(*, session: Session, key_id: uuid.UUID, clinic_id: uuid.UUID, role: Role) -> Clinic | None:
    """The clinic a session acts for, or None once its key is revoked (signing the person out)."""
    key = find_owned(session, ApiKey, key_id, clinic_id=clinic_id)
    if key is None or key.revoked_at is not None or key.role != role:
        return None
    return session.get(Clinic, clinic_id)
