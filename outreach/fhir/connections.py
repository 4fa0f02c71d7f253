"""A clinic's FHIR server: setting it up, and what the admin may see of it (never the secret)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from sqlmodel import Session, col, select

from outreach.errors import Invalid, NotFound
from outreach.fhir import secrets
from outreach.fhir.auth import load_private_key
from outreach.fhir.models import AuthKind, FhirConnection


class ConnectionIn(BaseModel):
    """What an admin sends to connect a clinic to its FHIR server."""

    model_config = {"extra": "forbid"}

    base_url: str = Field(min_length=8, max_length=255)
    auth_kind: AuthKind
    bearer_token: SecretStr | None = None
    client_id: str = Field(default="", max_length=255)
    token_url: str = Field(default="", max_length=500)
    private_key_pem: SecretStr | None = None
    key_id: str = Field(default="", max_length=255)
    algorithm: Literal["RS384", "ES384"] = "RS384"
    scope: str = Field(default="system/Patient.read system/Appointment.read", max_length=500)
    mrn_system: str = Field(default="", max_length=255)
    window_days: int = Field(default=14, ge=1, le=180)
    writeback_enabled: bool = False

    @model_validator(mode="after")
    def _credentials_fit(self) -> ConnectionIn:
        if not self.base_url.startswith(("https://", "http://")):
            raise ValueError("base_url must be an http(s) URL")
        if self.auth_kind == AuthKind.BEARER and not self.bearer_token:
            raise ValueError("bearer_token is needed for auth_kind bearer")
        if self.auth_kind == AuthKind.SMART and not (
            self.client_id and self.token_url and self.private_key_pem
        ):
            raise ValueError("client_id, token_url and private_key_pem are needed for auth_kind smart")
        return self


class ConnectionPublic(BaseModel):
    """A clinic's FHIR connection as the API shows it: no token, no key."""

    base_url: str
    auth_kind: AuthKind
    client_id: str
    token_url: str
    key_id: str
    algorithm: str
    scope: str
    mrn_system: str
    window_days: int
    writeback_enabled: bool
    last_synced_at: datetime | None
    has_credentials: bool


def public(connection: FhirConnection) -> ConnectionPublic:
    """The admin's view of a connection."""
    shown = {
        name: getattr(connection, name) for name in ConnectionPublic.model_fields if name != "has_credentials"
    }
    shown["auth_kind"] = AuthKind(connection.auth_kind)
    return ConnectionPublic(**shown, has_credentials=bool(connection.secret))


def find(*, session: Session, clinic_id: uuid.UUID) -> FhirConnection | None:
    """The clinic's connection, if it has one."""
    return session.exec(select(FhirConnection).where(col(FhirConnection.clinic_id) == clinic_id)).first()


def get(*, session: Session, clinic_id: uuid.UUID) -> FhirConnection:
    """The clinic's connection, or NotFound."""
    connection = find(session=session, clinic_id=clinic_id)
    if connection is None:
        raise NotFound("FHIR connection")
    return connection


def configure(*, session: Session, clinic_id: uuid.UUID, data: ConnectionIn, now: datetime) -> FhirConnection:
    """Create or replace the clinic's connection; the secret is stored encrypted."""
    if data.auth_kind == AuthKind.SMART:
        assert data.private_key_pem is not None
        try:
            load_private_key(data.private_key_pem.get_secret_value(), data.algorithm)
        except ValueError as exc:
            raise Invalid("private_key_pem", str(exc)) from None
    secret = data.bearer_token if data.auth_kind == AuthKind.BEARER else data.private_key_pem
    assert secret is not None
    connection = find(session=session, clinic_id=clinic_id) or FhirConnection(
        clinic_id=clinic_id, created_at=now, secret="", base_url="", auth_kind=data.auth_kind
    )
    fields = data.model_dump(exclude={"bearer_token", "private_key_pem"})
    for name, value in fields.items():
        setattr(connection, name, value)
    connection.base_url = data.base_url.rstrip("/")
    connection.secret = secrets.encrypt(secret.get_secret_value())
    connection.updated_at = now
    session.add(connection)
    session.flush()
    return connection
