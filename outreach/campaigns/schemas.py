"""What the API accepts and returns for campaigns."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from outreach.campaigns.models import CampaignKind, CampaignStatus, FallbackPolicy
from outreach.journeys.models import EventKind


class StepIn(BaseModel):
    """One send: when (by campaign kind) and what (a built-in template, or text per language)."""

    model_config = ConfigDict(extra="forbid")

    template: str | None = Field(default=None, max_length=40)
    bodies: dict[str, str] | None = Field(default=None, max_length=40)
    offset_minutes: int | None = Field(
        default=None,
        description="Reminders: minutes from the visit (-1440); journeys: after the event (2880)",
    )
    send_at: AwareDatetime | None = Field(default=None, description="Broadcasts: when to send")
    first_after_days: int | None = Field(default=None, description="Check-ins: days after the anchor date")
    every_days: int | None = None
    times: int | None = None
    local_time: time | None = Field(default=None, description="Check-ins: the patient's local time")


class CampaignCreate(BaseModel):
    """A new campaign and its steps."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    kind: CampaignKind
    fallback_policy: FallbackPolicy = FallbackPolicy.FALLBACK
    anchor_date: date | None = Field(default=None, description="Check-ins: e.g. the discharge date")
    anchor_event: EventKind | None = Field(
        default=None, description="Journeys: time each patient's series from their own event of this kind"
    )
    no_reply_after: int | None = Field(
        default=None, ge=1, le=20, description="Journeys: unanswered check-ins in a row before a call task"
    )
    restart_on_readmission: bool = Field(
        default=True, description="Journeys: a newer event of the kind ends the series and starts it again"
    )
    steps: list[StepIn] = Field(min_length=1, max_length=10)
    phi_override_reason: str | None = Field(
        default=None, min_length=3, max_length=500, description="Keep texts that name a PHI term (audited)"
    )


class StepPublic(BaseModel):
    """A step as the API shows it."""

    id: uuid.UUID
    position: int
    template: str | None
    bodies: dict[str, str]
    offset_minutes: int | None
    send_at: datetime | None
    first_after_days: int | None
    every_days: int | None
    times: int | None
    local_time: time | None


class CampaignPublic(BaseModel):
    """A campaign as the API shows it."""

    id: uuid.UUID
    name: str
    kind: CampaignKind
    status: CampaignStatus
    fallback_policy: FallbackPolicy
    anchor_date: date | None
    anchor_event: str | None
    no_reply_after: int | None
    restart_on_readmission: bool
    created_at: datetime
    launched_at: datetime | None
    steps: list[StepPublic]


class EnrollIn(BaseModel):
    """Who to enroll: listed patients, a filter, or everyone (`all`)."""

    model_config = ConfigDict(extra="forbid")

    patient_ids: list[uuid.UUID] | None = Field(default=None, max_length=100_000)
    language: str | None = Field(default=None, max_length=35)
    has_upcoming_appointment: bool | None = None
    all: bool = False


class EnrollReport(BaseModel):
    """How many patients were enrolled and, for those left out, why."""

    enrolled: int
    already_enrolled: int
    excluded: dict[str, int]


class LaunchReport(BaseModel):
    """A launch and what it has written to the outbox so far (texts are written a window ahead of time)."""

    status: str = Field(description="queued, running (first window), live (caught up), done")
    launched_at: datetime
    written_until: datetime | None = Field(
        description="texts meant for before this moment are in the outbox; later ones follow as time passes"
    )
    patients_planned: int = Field(description="patients (for reminders: their visits) planned so far")
    rows_written: int
    scheduled: int
    skipped: dict[str, int] = Field(description="rows written as skipped, by reason")
    held: int
    excluded: dict[str, int] = Field(description="enrolled patients left out, by reason")


class PreviewIn(BaseModel):
    """One step for one patient."""

    model_config = ConfigDict(extra="forbid")

    patient_id: uuid.UUID
    step: int = Field(default=1, ge=1, description="Step position, from 1")
    event_id: uuid.UUID | None = Field(
        default=None, description="Journeys: the patient's event to time it from (default: their latest)"
    )


class PreviewOut(BaseModel):
    """The text a patient would get, when, and in which language."""

    body: str | None
    language: str
    segments: int
    encoding: str
    send_at: datetime | None
    status: str
    reason: str | None
    fell_back: bool
    notice: str | None = Field(default=None, description='e.g. "Somali: draft translation, not reviewed ..."')


class Timeline(BaseModel):
    """A campaign's dry run: what a launch would write now, without writing it."""

    rows: int
    scheduled: int
    per_day: dict[str, int]
    per_language: dict[str, int]
    segments: int
    estimated_cost: float
    skipped: dict[str, int]
    held: int
    excluded: dict[str, int]
    fallbacks: dict[str, int]
    notices: list[str] = Field(default_factory=list, description="Built-in translations not yet reviewed")
    over_daily_cap: dict[str, int] = Field(
        default_factory=dict,
        description="Days over the clinic's daily segment cap, by how many segments (those texts are held)",
    )
