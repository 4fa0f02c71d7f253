"""What the API accepts and returns for texts."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from outreach.messaging.models import MessageStatus
from outreach.sms.base import MAX_BODY_CHARS


class MessageCreate(BaseModel):
    """A one-off text to one patient, now or at `send_at`."""

    model_config = ConfigDict(extra="forbid")

    patient_id: uuid.UUID
    body: str = Field(min_length=1, max_length=MAX_BODY_CHARS)
    send_at: AwareDatetime | None = None
    language: str | None = Field(default=None, min_length=2, max_length=35)
    phi_override_reason: str | None = Field(
        default=None, min_length=3, max_length=500, description="Send although it names a PHI term (audited)"
    )


class MessagePublic(BaseModel):
    """A text as the API shows it."""

    id: uuid.UUID
    patient_id: uuid.UUID
    kind: str
    status: MessageStatus
    send_at: datetime
    language: str
    body: str
    segments: int
    encoding: str
    attempts: int
    provider_sid: str | None
    error_code: int | None
    error_reason: str | None
    sent_at: datetime | None
