"""The report's tables: the audit trail of follow-up lists (who listed which patients, and why), and the
stored per-patient summary that serves large campaigns' reports (`summary.py`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, text
from sqlmodel import Field, SQLModel

from outreach.db import UTCDateTime, new_id, utcnow
from outreach.inbox.models import InboundMessage
from outreach.messaging.models import OutboundMessage


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


class ReportPatientSummary(SQLModel, table=True):
    """A campaign's report at the per-patient level (level 3 of `queries.py`), stored: one row per patient
    (grouping ''), or per patient and text group (grouping 'language_used' / 'fallback').

    Written only by `summary.refresh` from the same statement the live report runs; never incremented.
    """

    __tablename__ = "report_patient_summary"

    # Keyed by patient first: a refresh deletes and re-inserts the rows of some patients.
    campaign_id: uuid.UUID = Field(primary_key=True)
    patient_id: uuid.UUID = Field(primary_key=True)
    grouping: str = Field(primary_key=True, max_length=16)
    text_key: str = Field(primary_key=True, max_length=48)  # '' for grouping ''
    # A plain column: a foreign key is a per-row check on every refresh's INSERT ... SELECT.
    clinic_id: uuid.UUID
    # The patient's language tag the row was computed with: the fallback flags depend on it.
    patient_language: str = Field(max_length=35)
    sent: int
    delivered: int
    held: int
    skipped: int
    replied: int
    confirmed: int
    cancel: int
    optout: int
    a1: int
    a2: int
    a3: int
    texts_sent: int
    texts_delivered: int
    texts_fallback: int
    texts_failed: int
    failed_invalid_or_landline: int
    failed_carrier_filtered: int
    failed_unreachable: int
    failed_opted_out_at_carrier: int
    failed_other: int
    segments: int
    reply_days: int
    computed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ReportSummaryState(SQLModel, table=True):
    """When a campaign's summary was last refreshed, with which reply window, and how many patients."""

    __tablename__ = "report_summary_state"

    campaign_id: uuid.UUID = Field(primary_key=True)
    clinic_id: uuid.UUID = Field(foreign_key="clinic.id", index=True)
    reply_days: int
    computed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    patients: int = Field(default=0)
    full_built_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


# Which texts of a campaign changed since a time: the summary's refresh finds their patients by it. Declared
# here, beside the only code that reads it, so the outbox's own model stays as it is.
CHANGED_TEXTS = Index(
    "ix_outbound_message_campaign_changed",
    OutboundMessage.__table__.c.campaign_id,  # type: ignore[attr-defined]
    OutboundMessage.__table__.c.updated_at,  # type: ignore[attr-defined]
    postgresql_where=text("campaign_id IS NOT NULL"),
    sqlite_where=text("campaign_id IS NOT NULL"),
)
# The replies to some texts: an incremental refresh reads only the changed patients' replies by it.
REPLIES_TO = Index(
    "ix_inbound_message_in_reply_to",
    InboundMessage.__table__.c.in_reply_to_id,  # type: ignore[attr-defined]
    postgresql_where=text("in_reply_to_id IS NOT NULL"),
    sqlite_where=text("in_reply_to_id IS NOT NULL"),
)
