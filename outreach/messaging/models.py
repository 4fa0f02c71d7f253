"""The outbox: one row per text, the record of everything outreach sends."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ColumnElement, Index, String, Text, literal_column, text
from sqlmodel import Field, SQLModel

from outreach.db import UTCDateTime, time_ordered_id, utcnow


class MessageStatus(StrEnum):
    """Where a text is. `sending` is committed before the gateway call; `unknown` is never resent."""

    SCHEDULED = "scheduled"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    UNKNOWN = "unknown"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"
    HELD = "held"


UNSENT = (MessageStatus.SCHEDULED, MessageStatus.QUEUED)
_DUE = text("status = 'scheduled'")
_IN_FLIGHT = text("status IN ('queued', 'sending', 'unknown')")
_HAS_VISIT = text("appointment_id IS NOT NULL")
_IN_JOURNEY = text("journey_id IS NOT NULL")


def status_is(status: MessageStatus) -> ColumnElement[bool]:
    """`status = '<value>'` in the SQL text: a prepared statement's generic plan keeps the partial index."""
    return literal_column("outbound_message.status", String()) == literal_column(
        f"'{status.value}'", String()
    )


# error_reason of rows held while their campaign is paused (resume releases exactly these).
CAMPAIGN_PAUSED = "campaign_paused"


class OutboundMessage(SQLModel, table=True):
    """One text to one patient, with the language actually used and its segment count."""

    __tablename__ = "outbound_message"
    # Partial indexes for the claim and change paths: due rows by time, in-flight rows by last touch, a
    # visit's reminders by step. Rows that are done (sent, delivered, skipped...) are in none of them.
    __table_args__ = (
        Index("ix_outbound_message_due", "send_at", postgresql_where=_DUE, sqlite_where=_DUE),
        Index(
            "ix_outbound_message_in_flight",
            "status",
            "updated_at",
            postgresql_where=_IN_FLIGHT,
            sqlite_where=_IN_FLIGHT,
        ),
        Index(
            "ix_outbound_message_visit_step",
            "appointment_id",
            "step_id",
            postgresql_where=_HAS_VISIT,
            sqlite_where=_HAS_VISIT,
        ),
        Index(
            "ix_outbound_message_journey",
            "journey_id",
            postgresql_where=_IN_JOURNEY,
            sqlite_where=_IN_JOURNEY,
        ),
        # Which texts still use a sender (deleting one checks): only rows that name one are indexed.
        Index(
            "ix_outbound_message_sender",
            "sender_id",
            "status",
            postgresql_where=text("sender_id IS NOT NULL"),
            sqlite_where=text("sender_id IS NOT NULL"),
        ),
    )

    id: uuid.UUID = Field(default_factory=time_ordered_id, primary_key=True)
    clinic_id: uuid.UUID = Field(foreign_key="clinic.id", index=True)
    patient_id: uuid.UUID = Field(foreign_key="patient.id", index=True)
    kind: str = Field(default="one_off", max_length=16)
    # Campaign texts point back at what made them, so a rescheduled visit or a paused campaign finds them.
    # Plain columns, not foreign keys: each key is a per-row trigger during a launch's COPY (about 15% of
    # its speed each), the ids come from rows the launch has just read, and processes that never load the
    # campaign models (workers) must still be able to write this table.
    campaign_id: uuid.UUID | None = Field(default=None, index=True)
    step_id: uuid.UUID | None = Field(default=None)
    appointment_id: uuid.UUID | None = Field(default=None)
    journey_id: uuid.UUID | None = Field(default=None)  # a check-in series timed from a patient's event
    # The sender it went (or goes) out from, set when it is claimed (outreach.senders.routing); None:
    # the deployment's own configured sender.
    sender_id: uuid.UUID | None = Field(default=None)
    send_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    status: MessageStatus = Field(default=MessageStatus.SCHEDULED, sa_type=String(16))
    language: str = Field(max_length=35)
    body: str = Field(sa_column=Column(Text(), nullable=False))
    segments: int = Field(default=1)
    encoding: str = Field(default="GSM-7", max_length=8)
    attempts: int = Field(default=0)
    provider_sid: str | None = Field(default=None, max_length=64, unique=True)
    error_code: int | None = Field(default=None)
    error_reason: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
