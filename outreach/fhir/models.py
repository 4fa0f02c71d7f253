"""FHIR tables: which local row a FHIR resource became, each clinic's server, sync runs and write-backs."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from outreach.db import UTCDateTime, new_id, utcnow


class FhirLink(SQLModel, table=True):
    """A FHIR resource (type and id at a source) and the patient or appointment it is stored as."""

    __tablename__ = "fhir_link"
    __table_args__ = (
        UniqueConstraint("clinic_id", "source", "resource_type", "fhir_id", name="uq_fhir_link_identity"),
        Index("ix_fhir_link_local", "local_id"),  # write-back finds a visit's resource
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    clinic_id: uuid.UUID = Field(foreign_key="clinic.id")
    source: str = Field(max_length=255)
    resource_type: str = Field(max_length=32)
    fhir_id: str = Field(max_length=64)
    local_id: uuid.UUID
    # The resource's meta.versionId when it was last read (If-Match for write-back) and, for
    # appointments, its FHIR status (outreach's own states are coarser).
    version_id: str | None = Field(default=None, max_length=64)
    fhir_status: str | None = Field(default=None, max_length=32)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class AuthKind(StrEnum):
    """How outreach signs in to a clinic's FHIR server."""

    BEARER = "bearer"
    SMART = "smart"  # SMART Backend Services: client credentials with a signed JWT assertion


class FhirConnection(SQLModel, table=True):
    """A clinic's FHIR server. `secret` (bearer token or private key PEM) is encrypted and never returned."""

    __tablename__ = "fhir_connection"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    clinic_id: uuid.UUID = Field(foreign_key="clinic.id", unique=True)
    base_url: str = Field(max_length=500)
    auth_kind: AuthKind = Field(sa_type=String(16))
    secret: str = Field(sa_column=Column(Text(), nullable=False))
    client_id: str = Field(default="", max_length=255)
    token_url: str = Field(default="", max_length=500)
    scope: str = Field(default="system/Patient.read system/Appointment.read", max_length=500)
    key_id: str = Field(default="", max_length=255)
    algorithm: str = Field(default="RS384", max_length=8)
    mrn_system: str = Field(default="", max_length=255)
    window_days: int = Field(default=14)
    writeback_enabled: bool = Field(default=False)
    last_synced_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class FhirSyncRun(SQLModel, table=True):
    """One sync of a clinic from its FHIR server: when, what it counted, and the error if it failed."""

    __tablename__ = "fhir_sync_run"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    clinic_id: uuid.UUID = Field(foreign_key="clinic.id", index=True)
    started_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    status: str = Field(default="running", max_length=16)
    counts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON(), nullable=False))
    error: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))


class WritebackKind(StrEnum):
    """What outreach writes to the EHR: a confirmed visit, or a Task asking the front desk to cancel."""

    CONFIRM = "confirm"
    CANCEL_TASK = "cancel_task"


class FhirWriteback(SQLModel, table=True):
    """One write to the EHR, its attempts and its outcome: the audit trail of everything written back."""

    __tablename__ = "fhir_writeback"
    __table_args__ = (UniqueConstraint("appointment_id", "kind", name="uq_fhir_writeback_once"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    clinic_id: uuid.UUID = Field(foreign_key="clinic.id", index=True)
    appointment_id: uuid.UUID = Field(foreign_key="appointment.id")
    kind: WritebackKind = Field(sa_type=String(16))
    status: str = Field(default="pending", max_length=16)  # pending, done, failed (retried), given_up
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, max_length=500)
    result_ref: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
