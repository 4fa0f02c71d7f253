"""What the API shows of a clinic."""

from __future__ import annotations

import uuid
from datetime import time

from pydantic import BaseModel


class ClinicPublic(BaseModel):
    """The caller's clinic: its id (what `outreach create-key --clinic` takes) and its settings."""

    id: uuid.UUID
    name: str
    phone: str
    default_language: str
    timezone: str
    quiet_start: time
    quiet_end: time
    staffed_start: time | None
    staffed_end: time | None
    staffed_days: str
    program_name: str
    program_names: dict[str, str]
