"""A clinic's security limits: its own values where it set them, the settings' defaults otherwise."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlmodel import Session

from outreach.config import Settings, get_settings
from outreach.security.models import ClinicPolicy


@dataclass(frozen=True, slots=True)
class Policy:
    """The limits in force for one clinic."""

    max_segments: int
    daily_segment_cap: int
    retention_days: int


def policy_for(*, session: Session, clinic_id: uuid.UUID, settings: Settings | None = None) -> Policy:
    """The clinic's limits."""
    settings = settings or get_settings()
    row = session.get(ClinicPolicy, clinic_id)
    return Policy(
        max_segments=(row.max_segments if row and row.max_segments else settings.max_segments),
        daily_segment_cap=(
            row.daily_segment_cap if row and row.daily_segment_cap is not None else settings.daily_segment_cap
        ),
        retention_days=(row.retention_days if row and row.retention_days else settings.retention_days),
    )
