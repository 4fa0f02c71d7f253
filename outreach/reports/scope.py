"""Report date ranges: days in the clinic's own time zone, as UTC moments."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo


def day_start(day: date | None, tz: str) -> datetime | None:
    """Midnight at the start of `day` in the clinic's zone, in UTC."""
    if day is None:
        return None
    return datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(tz)).astimezone(UTC)
