"""Tables of the security controls: clinic policies, PHI terms, daily spend and the audit trail."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Column, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from outreach.db import UTCDateTime, time_ordered_id, utcnow


class ClinicPolicy(SQLModel, table=True):
    """A clinic's own limits; a missing row or an empty field means the setting's default."""

    __tablename__ = "clinic_policy"

    clinic_id: uuid.UUID = Field(foreign_key="clinic.id", primary_key=True)
    max_segments: int | None = Field(default=None)
    daily_segment_cap: int | None = Field(default=None)
    retention_days: int | None = Field(default=None)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class PhiTerm(SQLModel, table=True):
    """A clinic's change to the built-in PHI term list: a term added (or, with allowed, one permitted)."""

    __tablename__ = "phi_term"
    __table_args__ = (UniqueConstraint("clinic_id", "language", "term", name="uq_phi_term_clinic_language"),)

    id: uuid.UUID = Field(default_factory=time_ordered_id, primary_key=True)
    clinic_id: uuid.UUID = Field(foreign_key="clinic.id", index=True)
    language: str = Field(max_length=35, description="A catalog language, or * for every language")
    term: str = Field(max_length=80)
    allowed: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class DailySpend(SQLModel, table=True):
    """Segments claimed for a clinic's texts on one of its local days, and what an admin released."""

    __tablename__ = "clinic_daily_spend"

    clinic_id: uuid.UUID = Field(foreign_key="clinic.id", primary_key=True)
    day: date = Field(primary_key=True)
    claimed_segments: int = Field(default=0)
    released_segments: int = Field(default=0)


class AuditEvent(SQLModel, table=True):
    """One read or write of patient data, an override or a release: append-only (the database refuses
    UPDATE and DELETE). It names who, what and which patient; never a phone number or a text's body."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_clinic_patient_at", "clinic_id", "patient_id", "at"),)

    id: uuid.UUID = Field(default_factory=time_ordered_id, primary_key=True)
    clinic_id: uuid.UUID = Field(foreign_key="clinic.id")
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    key_id: uuid.UUID | None = Field(default=None)
    channel: str = Field(max_length=8, description="api, web or system")
    action: str = Field(sa_type=String(120))
    patient_id: uuid.UUID | None = Field(default=None)
    object_id: uuid.UUID | None = Field(default=None)
    status_code: int | None = Field(default=None)
    reason: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))
