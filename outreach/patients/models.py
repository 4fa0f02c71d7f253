"""Patients, their consent ledger and their appointments."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, Integer, String, UniqueConstraint, event, text
from sqlmodel import Field, SQLModel

from outreach.db import UTCDateTime, new_id, utcnow
from outreach.patients.attributes import clear_columns
from outreach.security.crypto import HASH_CHARS, EncryptedDate, EncryptedText, phone_columns

_UPCOMING = text("status <> 'cancelled'")


class ConsentStatus(StrEnum):
    """Whether a patient agreed to get texts; `unknown` means nobody asked yet."""

    GRANTED = "granted"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


class AppointmentStatus(StrEnum):
    """An appointment's state as the clinic's schedule says."""

    BOOKED = "booked"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


class Patient(SQLModel, table=True):
    """A person the clinic texts. `consent` mirrors the newest ConsentEvent for fast filtering."""

    __table_args__ = (UniqueConstraint("clinic_id", "external_id", name="uq_patient_clinic_external_id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    clinic_id: uuid.UUID = Field(foreign_key="clinic.id", index=True)
    external_id: str = Field(max_length=64)
    given_name: str = Field(default="", max_length=80)
    family_name: str = Field(default="", max_length=80)
    # Stored encrypted (column `phone_encrypted`), read in the clear; found by `phone_hash`, its blind
    # index, and searched by `phone_last4` (outreach/security/crypto.py). Both are set on every write.
    phone: str = Field(sa_column=Column("phone_encrypted", EncryptedText(), nullable=False))
    # No column defaults: a bulk writer that forgets them fails instead of storing an unfindable number.
    phone_hash: str = Field(default="", sa_column=Column(String(HASH_CHARS), nullable=False, index=True))
    phone_last4: str = Field(default="", sa_column=Column(String(4), nullable=False))
    language: str = Field(default="en", max_length=35)
    timezone: str = Field(max_length=64)
    consent: ConsentStatus = Field(default=ConsentStatus.UNKNOWN, sa_type=String(16))
    undeliverable_reason: str | None = Field(default=None, max_length=255)
    # Optional attributes for the equity report (codes and checks: outreach/patients/attributes.py).
    # Birth date and ZIP code are stored encrypted (`*_encrypted`) and read in the clear; the report reads
    # only `birth_year` and `postal3`, kept in the clear beside them and set on every write.
    birth_date: date | None = Field(
        default=None, sa_column=Column("birth_date_encrypted", EncryptedDate(), nullable=True), repr=False
    )
    birth_year: int | None = Field(default=None, sa_column=Column(Integer(), nullable=True), repr=False)
    sex: str | None = Field(default=None, max_length=8, repr=False)
    race: str | None = Field(default=None, max_length=48, repr=False)
    ethnicity: str | None = Field(default=None, max_length=8, repr=False)
    postal_code: str | None = Field(
        default=None, sa_column=Column("postal_code_encrypted", EncryptedText(), nullable=True), repr=False
    )
    postal3: str | None = Field(default=None, sa_column=Column(String(3), nullable=True), repr=False)
    interpreter_needed: bool | None = Field(default=None, repr=False)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


@event.listens_for(Patient, "before_insert")
@event.listens_for(Patient, "before_update")
def _clear_columns(_mapper: Any, _connection: Any, patient: Patient) -> None:
    """A patient written through the ORM gets the index columns of its number and the clear birth year and
    ZIP3 of its attributes (bulk writers add them)."""
    columns = phone_columns(patient.phone)
    patient.phone_hash, patient.phone_last4 = columns["phone_hash"], columns["phone_last4"]
    today = utcnow().date()
    clear = clear_columns(birth_date=patient.birth_date, postal_code=patient.postal_code, today=today)
    patient.birth_year, patient.postal3 = clear["birth_year"], clear["postal3"]


class ConsentEvent(SQLModel, table=True):
    """One change of consent: append-only, never updated or deleted."""

    __tablename__ = "consent_event"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    clinic_id: uuid.UUID = Field(foreign_key="clinic.id", index=True)
    patient_id: uuid.UUID = Field(foreign_key="patient.id", index=True)
    status: ConsentStatus = Field(sa_type=String(16))
    source: str = Field(max_length=80)
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Appointment(SQLModel, table=True):
    """A visit on the clinic's schedule; reminders are timed from `starts_at`."""

    # Upcoming visits by start: a launch window reads the visits whose reminders fall in it.
    __table_args__ = (
        Index(
            "ix_appointment_upcoming", "starts_at", "id", postgresql_where=_UPCOMING, sqlite_where=_UPCOMING
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    clinic_id: uuid.UUID = Field(foreign_key="clinic.id", index=True)
    patient_id: uuid.UUID = Field(foreign_key="patient.id", index=True)
    starts_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    location: str = Field(default="", max_length=120)
    status: AppointmentStatus = Field(default=AppointmentStatus.BOOKED, sa_type=String(16))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
