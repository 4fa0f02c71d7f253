"""What the API shows of a clinic."""

from __future__ import annotations

import uuid
from datetime import time

from pydantic import BaseModel, Field, field_validator


class ClinicPublic(BaseModel):
    """The caller's clinic: its id (what `outreach create-key --clinic` takes) and its settings."""

    id: uuid.UUID
    name: str
    phone: str
    default_language: str
    timezone: str
    # Wall-clock times as "HH:MM" (a JSON Schema "time" would need a UTC offset these do not have).
    quiet_start: str = Field(pattern=r"^\d{2}:\d{2}$")
    quiet_end: str = Field(pattern=r"^\d{2}:\d{2}$")
    staffed_start: str | None = Field(pattern=r"^\d{2}:\d{2}$")
    staffed_end: str | None = Field(pattern=r"^\d{2}:\d{2}$")
    staffed_days: str
    program_name: str
    program_names: dict[str, str]

    @field_validator("quiet_start", "quiet_end", "staffed_start", "staffed_end", mode="before")
    @classmethod
    def _clock(cls, value: object) -> object:
        return value.strftime("%H:%M") if isinstance(value, time) else value
