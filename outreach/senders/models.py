"""The sender table: one row per Twilio number or Messaging Service a clinic texts from."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, String, Text
from sqlmodel import Field, SQLModel

from outreach.db import UTCDateTime, new_id, utcnow


class SenderType(StrEnum):
    """The kind of number, which sets what carriers let it send."""

    LONG_CODE = "long_code"
    TOLL_FREE = "toll_free"
    SHORT_CODE = "short_code"


class Sender(SQLModel, table=True):
    """A number (or Messaging Service) that belongs to exactly one clinic.

    `phone_number` and `messaging_service_sid` are unique across clinics: an inbound text finds its clinic
    by the number it was sent to, so two clinics can never own one. `account_sid` is set only for a clinic
    on its own Twilio subaccount; its auth token is stored encrypted (`secrets`) and never returned.
    """

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    clinic_id: uuid.UUID = Field(foreign_key="clinic.id", index=True)
    label: str = Field(default="", max_length=80)
    phone_number: str | None = Field(default=None, max_length=20, unique=True)
    messaging_service_sid: str | None = Field(default=None, max_length=34, unique=True)
    sender_type: SenderType = Field(sa_type=String(16))
    rate_per_s: float
    account_sid: str | None = Field(default=None, max_length=34, index=True)
    auth_token_encrypted: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))
    is_default: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
