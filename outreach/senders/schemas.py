"""What the admin API takes and returns for senders (the auth token goes in, never out)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from outreach.senders.models import SenderType


class SenderCreate(BaseModel):
    """A number or Messaging Service for the calling clinic; checked by `service.create_sender`."""

    model_config = ConfigDict(extra="forbid")

    label: str = Field(default="", max_length=80)
    phone_number: str | None = None
    messaging_service_sid: str | None = None
    sender_type: SenderType = SenderType.LONG_CODE
    rate_per_s: float | None = Field(default=None, description="Segments per second; the type's default")
    account_sid: str | None = Field(default=None, description="The clinic's own Twilio subaccount")
    auth_token: SecretStr | None = Field(default=None, description="Stored encrypted, never returned")
    is_default: bool = False


class SenderUpdate(BaseModel):
    """What may change on a sender (its number or service may not: delete it and add another)."""

    model_config = ConfigDict(extra="forbid")

    label: str | None = Field(default=None, max_length=80)
    rate_per_s: float | None = None
    is_default: bool | None = None


class SenderPublic(BaseModel):
    """A sender as the API shows it: whether it has its own credentials, never the credentials."""

    id: uuid.UUID
    label: str
    phone_number: str | None
    messaging_service_sid: str | None
    sender_type: SenderType
    rate_per_s: float
    account_sid: str | None
    has_credentials: bool
    is_default: bool
    created_at: datetime


class CampaignSenderIn(BaseModel):
    """The sender a campaign's texts go out from; null for the clinic's default."""

    model_config = ConfigDict(extra="forbid")

    sender_id: uuid.UUID | None
