"""What the API accepts and returns for patients."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from outreach.patients.models import ConsentStatus


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


class PatientCreate(PatientBase):
    """A new patient; `external_id` is the clinic's own id (MRN)."""

    external_id: str = Field(min_length=1, max_length=64)
    consent: ConsentIn | None = None


class PatientPublic(BaseModel):
    """A patient as the API shows it."""

    id: uuid.UUID
    external_id: str
    given_name: str
    family_name: str
    phone: str
    language: str
    timezone: str
    consent: ConsentStatus
    created_at: datetime
