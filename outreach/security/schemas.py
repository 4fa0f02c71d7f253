"""What the security routes accept and return."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class AuditEventPublic(BaseModel):
    """One audit row: who did what to which patient's data, when."""

    id: uuid.UUID
    at: datetime
    key_id: uuid.UUID | None
    channel: str
    action: str
    patient_id: uuid.UUID | None
    object_id: uuid.UUID | None
    status_code: int | None
    reason: str | None


class PolicyPublic(BaseModel):
    """The limits in force for the clinic."""

    max_segments: int
    daily_segment_cap: int
    retention_days: int


class PolicyUpdate(BaseModel):
    """The clinic's own limits; a field left out keeps its value, null returns it to the default."""

    model_config = ConfigDict(extra="forbid")

    max_segments: int | None = Field(default=None, ge=1, le=50)
    daily_segment_cap: int | None = Field(default=None, ge=0, le=10_000_000)
    retention_days: int | None = Field(default=None, ge=1, le=3650)


class SpendToday(BaseModel):
    """Today's segments (in the clinic's zone) against its cap, and the texts held for it."""

    day: date
    daily_segment_cap: int
    claimed_segments: int
    released_segments: int
    held_texts: int
    held_segments: int


class ReleaseIn(BaseModel):
    """Why the held texts may go after all (kept in the audit trail)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3, max_length=500)


class ReleaseOut(BaseModel):
    """What was released."""

    texts: int
    segments: int


class PhiTermIn(BaseModel):
    """A term to refuse in the clinic's texts (or, with allowed, a built-in one to permit)."""

    model_config = ConfigDict(extra="forbid")

    term: str = Field(min_length=2, max_length=80)
    language: str = Field(default="*", min_length=1, max_length=35, description="A language, or * for all")
    allowed: bool = False


class PhiTermPublic(BaseModel):
    """A clinic's change to the PHI term list."""

    id: uuid.UUID
    term: str
    language: str
    allowed: bool
