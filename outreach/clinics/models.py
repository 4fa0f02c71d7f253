"""Clinics (the tenants) and the API keys that act for them."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, String, text
from sqlmodel import Field, SQLModel

from outreach.db import UTCDateTime, new_id, utcnow


class Role(StrEnum):
    """What a key may do: admins run campaigns, coordinators work the reply queue."""

    ADMIN = "admin"
    COORDINATOR = "coordinator"


class Clinic(SQLModel, table=True):
    """A clinic using outreach; every other row belongs to exactly one."""

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(max_length=120)
    phone: str = Field(default="", max_length=20)
    default_language: str = Field(default="en", max_length=35)
    timezone: str = Field(default="America/New_York", max_length=64)
    default_region: str = Field(default="US", max_length=2)
    quiet_start: time = Field(default=time(21, 0))
    quiet_end: time = Field(default=time(8, 0))
    emergency_number: str = Field(default="911", max_length=20)
    program_name: str = Field(default="Appointment and care texts", max_length=80)
    # What one SMS segment costs the clinic (USD), for campaign cost estimates; Twilio's US list price.
    cost_per_segment: float = Field(default=0.0083)
    # Clinics of one organisation share it; with OUTREACH_STOP_SCOPE=organisation a STOP covers them all.
    organisation: str = Field(default="", max_length=120)
    # When the care team answers texts, in the clinic's zone, on ISO weekdays ("12345" = Monday–Friday);
    # no hours set means nobody promises a time, so no received-acknowledgement is sent.
    staffed_start: time | None = Field(default=None)
    staffed_end: time | None = Field(default=None)
    staffed_days: str = Field(default="12345", max_length=7, sa_column_kwargs={"server_default": "12345"})
    # The program name the HELP answer uses, per catalog language; a language without one gets the
    # catalogued translation of `program_name` when that is the default name, else `program_name` itself.
    program_names: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON(), nullable=False, server_default=text("'{}'"))
    )
    # Send built-in texts only in translations a native speaker reviewed (drafts fall back or hold).
    require_reviewed_translations: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class ApiKey(SQLModel, table=True):
    """A hashed API key: the secret is shown once at creation and never stored."""

    __tablename__ = "api_key"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    clinic_id: uuid.UUID = Field(foreign_key="clinic.id", index=True)
    role: Role = Field(sa_type=String(16))
    name: str = Field(default="", max_length=80)
    prefix: str = Field(max_length=16, unique=True)
    secret_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
