"""The audit trail of follow-up lists made from the outcome report: who listed which patients, and why."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from outreach.db import UTCDateTime, new_id, utcnow


class ReportFollowUp(SQLModel, table=True):
    """One follow-up list shown, enrolled into a campaign, or sent to the coordinator queue: append-only."""

    __tablename__ = "report_follow_up"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    clinic_id: uuid.UUID = Field(foreign_key="clinic.id", index=True)
    key_id: uuid.UUID = Field(foreign_key="api_key.id")
    action: str = Field(max_length=16)  # list, enroll, call_tasks
    campaign_id: uuid.UUID
    by: str = Field(max_length=16)
    group_key: str = Field(max_length=48)
    stage: str = Field(max_length=16)
    target_campaign_id: uuid.UUID | None = Field(default=None)
    patients: int
    patient_ids: list[Any] = Field(default_factory=list, sa_column=Column(JSON(), nullable=False))
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
