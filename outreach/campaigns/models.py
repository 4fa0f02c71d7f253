"""Campaign tables (campaigns, steps, enrollments)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from outreach.db import UTCDateTime, new_id, utcnow


class CampaignKind(StrEnum):
    """What a campaign sends: reminders before appointments, check-ins after an anchor, or one broadcast."""

    REMINDER = "reminder"
    CHECKIN = "checkin"
    BROADCAST = "broadcast"


class CampaignStatus(StrEnum):
    """A campaign's life: drafted, launched (rows exist), paused (rows held), cancelled."""

    DRAFT = "draft"
    LAUNCHED = "launched"
    PAUSED = "paused"
    CANCELLED = "cancelled"


class FallbackPolicy(StrEnum):
    """What to do for a patient whose language the campaign has no text for."""

    FALLBACK = "fallback"
    HOLD = "hold"


class Campaign(SQLModel, table=True):
    """A clinic's campaign; its steps say when and what, its enrollments say to whom."""

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    clinic_id: uuid.UUID = Field(foreign_key="clinic.id", index=True)
    name: str = Field(max_length=120)
    kind: CampaignKind = Field(sa_type=String(16))
    status: CampaignStatus = Field(default=CampaignStatus.DRAFT, sa_type=String(16))
    fallback_policy: FallbackPolicy = Field(default=FallbackPolicy.FALLBACK, sa_type=String(16))
    anchor_date: date | None = Field(default=None)
    # Journeys: a check-in series timed from each patient's own event of this kind (see outreach/journeys).
    anchor_event: str | None = Field(default=None, max_length=24)
    no_reply_after: int | None = Field(default=None)  # unanswered check-ins in a row before a call task
    restart_on_readmission: bool = Field(default=True)  # a newer event of the kind restarts the series
    # The clinic's sender its texts go out from; None for the clinic's default (see outreach.senders).
    sender_id: uuid.UUID | None = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    launched_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class CampaignStep(SQLModel, table=True):
    """One send of a campaign; `bodies` maps a language to clinic-written text, else `template` is used."""

    __tablename__ = "campaign_step"
    __table_args__ = (UniqueConstraint("campaign_id", "position", name="uq_campaign_step_position"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    campaign_id: uuid.UUID = Field(foreign_key="campaign.id", index=True)
    position: int
    template: str | None = Field(default=None, max_length=40)
    bodies: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON(), nullable=False))
    offset_minutes: int | None = Field(default=None)
    send_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    first_after_days: int | None = Field(default=None)
    every_days: int | None = Field(default=None)
    times: int | None = Field(default=None)
    local_time: time | None = Field(default=None)


class Enrollment(SQLModel, table=True):
    """A patient a campaign will text."""

    __tablename__ = "campaign_enrollment"
    __table_args__ = (UniqueConstraint("campaign_id", "patient_id", name="uq_enrollment_campaign_patient"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    campaign_id: uuid.UUID = Field(foreign_key="campaign.id", index=True)
    patient_id: uuid.UUID = Field(foreign_key="patient.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class LaunchStatus(StrEnum):
    """A launch's progress: recorded, its first window being written, then caught up as time passes."""

    QUEUED = "queued"
    RUNNING = "running"
    LIVE = "live"
    DONE = "done"  # every text the plan can ever give has been written (or the campaign was cancelled)


class CampaignLaunch(SQLModel, table=True):
    """The durable record of a launch and how far its texts have been written to the outbox.

    Texts are written ahead of their time in windows of target time: `materialized_until` is the end of
    the last finished window; a window being written keeps `window_until` and the cursor (the last
    visit, by start and id, or the last patient written), committed with each chunk of rows, so a
    worker that stops resumes there.
    """

    __tablename__ = "campaign_launch"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    campaign_id: uuid.UUID = Field(foreign_key="campaign.id", unique=True)
    clinic_id: uuid.UUID = Field(foreign_key="clinic.id", index=True)
    status: LaunchStatus = Field(default=LaunchStatus.QUEUED, sa_type=String(16))
    launched_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    materialized_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    window_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    cursor: uuid.UUID | None = Field(default=None)
    cursor_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    patients_planned: int = Field(default=0)
    rows_written: int = Field(default=0)
    scheduled: int = Field(default=0)
    held: int = Field(default=0)
    skipped: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON(), nullable=False))
    excluded: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON(), nullable=False))
