"""What the API accepts and returns for patient events, enrollment rules and journeys."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from outreach.journeys.models import EventKind


class PatientEventIn(BaseModel):
    """Something that happened to a patient: its kind, when, and where or what kind of visit."""

    model_config = ConfigDict(extra="forbid")

    kind: EventKind
    occurred_at: AwareDatetime = Field(description="When it happened (a discharge: the time they left)")
    location: str | None = Field(default=None, max_length=120, description="e.g. the ward or unit")
    visit_type: str | None = Field(
        default=None, max_length=120, description="e.g. the procedure or visit type"
    )


class PatientEventCorrection(BaseModel):
    """A corrected event: a new time re-plans the unsent texts of the journeys it started."""

    model_config = ConfigDict(extra="forbid")

    occurred_at: AwareDatetime | None = None
    location: str | None = Field(default=None, max_length=120)
    visit_type: str | None = Field(default=None, max_length=120)


class PatientEventPublic(BaseModel):
    """An event as the API shows it."""

    id: uuid.UUID
    patient_id: uuid.UUID
    kind: str
    occurred_at: datetime
    location: str | None
    visit_type: str | None
    source: str
    created_at: datetime


class RecordReport(BaseModel):
    """What recording a batch of events did."""

    recorded: int = Field(description="new events")
    duplicates: int = Field(description="events already recorded (same patient, kind and time)")
    journeys_started: int
    journeys_restarted: int = Field(description="earlier journeys ended because a newer event restarted them")
    not_enrolled: dict[str, int] = Field(
        description="events a rule matched whose patient was left out, by reason"
    )
    errors: list[str] = Field(default_factory=list, description="events not recorded, by position and reason")
    event_ids: list[uuid.UUID] = Field(default_factory=list)


class RuleIn(BaseModel):
    """'When a patient's event of this kind (from this location, of this type) is recorded, enroll them.'"""

    model_config = ConfigDict(extra="forbid")

    event_kind: EventKind
    location: str | None = Field(default=None, max_length=120, description="None: any location")
    visit_type: str | None = Field(default=None, max_length=120, description="None: any type")
    campaign_id: uuid.UUID


class RulePublic(BaseModel):
    """A rule as the API shows it."""

    id: uuid.UUID
    event_kind: str
    location: str | None
    visit_type: str | None
    campaign_id: uuid.UUID
    active: bool
    created_at: datetime


class JourneyPublic(BaseModel):
    """A patient's journey: the campaign, the event it is timed from, and whether it still runs."""

    id: uuid.UUID
    campaign_id: uuid.UUID
    patient_id: uuid.UUID
    event_id: uuid.UUID
    rule_id: uuid.UUID | None
    status: str
    end_reason: str | None
    anchor_at: datetime
    started_at: datetime
    ended_at: datetime | None
