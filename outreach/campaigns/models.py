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
