"""What the simulator's patient phones received (the embedded default's stand-in for carriers)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, String, Text, event
from sqlmodel import Field, SQLModel

from outreach.db import UTCDateTime, new_id, utcnow
from outreach.security.crypto import HASH_CHARS, EncryptedText, active


class SimulatedSms(SQLModel, table=True):
    """One text that reached a simulated phone."""

    __tablename__ = "simulated_sms"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    provider_sid: str = Field(max_length=64, unique=True)
    message_id: uuid.UUID = Field(index=True)
    # Encrypted (column `to_encrypted`), found by its blind index `to_hash` (outreach/security/crypto.py).
    to: str = Field(sa_column=Column("to_encrypted", EncryptedText(), nullable=False))
    to_hash: str = Field(default="", sa_column=Column(String(HASH_CHARS), nullable=False, index=True))
    body: str = Field(sa_column=Column(Text(), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


@event.listens_for(SimulatedSms, "before_insert")
def _index_to(_mapper: Any, _connection: Any, sms: SimulatedSms) -> None:
    """The blind index of the number the text reached."""
    sms.to_hash = active().index(sms.to)
