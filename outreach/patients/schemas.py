"""What the API accepts and returns for patients, their consent and their appointments."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from outreach.patients.attributes import BirthDate, Ethnicity, PostalCode, Race, Sex, race_codes
from outreach.patients.models import AppointmentStatus, ConsentStatus


class ConsentIn(BaseModel):
    """A consent decision and where it came from."""

    model_config = ConfigDict(extra="forbid")

    status: ConsentStatus
    source: str = Field(min_length=1, max_length=80)


class PatientBase(BaseModel):
    """Fields a clinic sets on a patient."""

    model_config = ConfigDict(extra="forbid")

    given_name: str = Field(default="", max_length=80)
    family_name: str = Field(default="", max_length=80)
    phone: str = Field(min_length=3, max_length=32)
    language: str = Field(default="en", min_length=2, max_length=35)
    timezone: str | None = Field(default=None, max_length=64)
    birth_date: BirthDate | None = Field(default=None, repr=False)
    sex: Sex | None = Field(default=None, repr=False)
    race: Race | None = Field(default=None, repr=False, description="OMB race category codes")
    ethnicity: Ethnicity | None = Field(default=None, repr=False)
    postal_code: PostalCode | None = Field(default=None, repr=False)
    interpreter_needed: bool | None = Field(default=None, repr=False)


class PatientCreate(PatientBase):
    """A new patient; `external_id` is the clinic's own id (MRN)."""

    external_id: str = Field(min_length=1, max_length=64)
    consent: ConsentIn | None = None


class PatientUpdate(BaseModel):
    """The fields to change on a patient; absent fields stay as they are (an attribute sent as null is
    cleared)."""

    model_config = ConfigDict(extra="forbid")

    given_name: str | None = Field(default=None, max_length=80)
    family_name: str | None = Field(default=None, max_length=80)
    phone: str | None = Field(default=None, min_length=3, max_length=32)
    language: str | None = Field(default=None, min_length=2, max_length=35)
    timezone: str | None = Field(default=None, max_length=64)
    birth_date: BirthDate | None = Field(default=None, repr=False)
    sex: Sex | None = Field(default=None, repr=False)
    race: Race | None = Field(default=None, repr=False, description="OMB race category codes")
    ethnicity: Ethnicity | None = Field(default=None, repr=False)
    postal_code: PostalCode | None = Field(default=None, repr=False)
    interpreter_needed: bool | None = Field(default=None, repr=False)


class ConsentPublic(BaseModel):
    """A patient's current consent in the shape it is given (`ConsentIn`), with when it was recorded;
    `source` and `recorded_at` are null while nobody has asked."""

    status: ConsentStatus
    source: str | None = None
    recorded_at: datetime | None = None


class PatientPublic(BaseModel):
    """A patient as the API shows it."""

    id: uuid.UUID
    external_id: str
    given_name: str
    family_name: str
    phone: str
    language: str
    timezone: str
    consent: ConsentPublic
    birth_date: date | None = Field(default=None, repr=False)
    sex: str | None = Field(default=None, repr=False)
    race: list[str] | None = Field(default=None, repr=False)
    ethnicity: str | None = Field(default=None, repr=False)
    postal_code: str | None = Field(default=None, repr=False)
    interpreter_needed: bool | None = Field(default=None, repr=False)
    created_at: datetime

    @field_validator("race", mode="before")
    @classmethod
    def _race_list(cls, value: object) -> object:
        return race_codes(value) if isinstance(value, str) else value


class ConsentEventPublic(BaseModel):
    """One entry of a patient's consent ledger."""

    status: ConsentStatus
    source: str
    recorded_at: datetime


class AppointmentCreate(BaseModel):
    """A visit to add; the start needs an offset (2026-03-03T09:00:00-05:00)."""

    model_config = ConfigDict(extra="forbid")

    starts_at: AwareDatetime
    location: str = Field(default="", max_length=120)


class AppointmentUpdate(BaseModel):
    """A new time or place for a visit; reminders not yet sent follow it."""

    model_config = ConfigDict(extra="forbid")

    starts_at: AwareDatetime | None = None
    location: str | None = Field(default=None, max_length=120)


class AppointmentPublic(BaseModel):
    """A visit as the API shows it."""

    id: uuid.UUID
    patient_id: uuid.UUID
    starts_at: datetime
    location: str
    status: AppointmentStatus


class RejectedRow(BaseModel):
    """One rejected import row: its line (CSV) or position (JSON, from 1), the field and why."""

    line: int
    field: str
    reason: str


class ImportReport(BaseModel):
    """What an import did; rejected rows are listed while the good rows are stored."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RejectedRow] = Field(default_factory=list)


class PatientImport(BaseModel):
    """A JSON import: patient records in the same shape as the CSV columns."""

    model_config = ConfigDict(extra="forbid")

    patients: list[dict[str, object]] = Field(max_length=50_000)
