"""What patients text back: every inbound message, stored once by its provider SID."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, String, Text
from sqlmodel import Field, SQLModel

from outreach.db import UTCDateTime, new_id, utcnow


class InboundKind(StrEnum):
    """What a reply turned out to be."""

    OPTOUT = "optout"
    OPTIN = "optin"
    HELP = "help"
    CONFIRM = "confirm"
    CANCEL_REQUEST = "cancel_request"
    CHECKIN_ANSWER = "checkin_answer"
    URGENT = "urgent"
    MESSAGE = "message"
    UNMATCHED = "unmatched"


class Priority(StrEnum):
    """How soon a person should read it."""

    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class InboundMessage(SQLModel, table=True):
    """One text a patient (or an unknown number) sent to a clinic number."""

    __tablename__ = "inbound_message"
    __table_args__ = (Index("ix_inbound_message_clinic_received", "clinic_id", "received_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    provider_sid: str = Field(max_length=64, unique=True)
    clinic_id: uuid.UUID | None = Field(default=None, foreign_key="clinic.id")
    patient_id: uuid.UUID | None = Field(default=None, foreign_key="patient.id", index=True)
    from_phone: str = Field(max_length=32)
    to_phone: str = Field(max_length=32)
    body: str = Field(sa_column=Column(Text(), nullable=False))
    language: str = Field(max_length=35)
    kind: InboundKind = Field(sa_type=String(16))
    answer: int | None = Field(default=None)
    priority: Priority = Field(default=Priority.NORMAL, sa_type=String(8))
    matched_phrase: str | None = Field(default=None, max_length=120)
    received_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
