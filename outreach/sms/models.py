"""What the simulator's patient phones received (the embedded default's stand-in for carriers)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from outreach.db import UTCDateTime, new_id, utcnow


class SimulatedSms(SQLModel, table=True):
    """One text that reached a simulated phone."""

    __tablename__ = "simulated_sms"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    provider_sid: str = Field(max_length=64, unique=True)
    message_id: uuid.UUID = Field(index=True)
    to: str = Field(max_length=20, index=True)
    body: str = Field(sa_column=Column(Text(), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
