"""FHIR dates and periods: partial dates (2014, 2014-06) and whether a period is still running."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any


def period_end(raw: str) -> date:
    """The last day a FHIR date or dateTime (2014, 2014-06, 2014-06-30, 2014-06-30T12:00:00Z) covers."""
    text = raw[:10]
    if len(text) == 4:
        return date(int(text), 12, 31)
    if len(text) == 7:
        year, month = int(text[:4]), int(text[5:7])
        following = date(year + (month == 12), month % 12 + 1, 1)
        return date.fromordinal(following.toordinal() - 1)
    return date.fromisoformat(text)


def is_current(period: dict[str, Any] | None, *, today: date) -> bool:
    """Whether a period has not ended by `today` (no period, or no end, is current)."""
    if not period or not period.get("end"):
        return True
    return period_end(str(period["end"])) >= today


def instant_utc(raw: str) -> datetime:
    """A FHIR instant (with its offset) as an aware UTC datetime."""
    return datetime.fromisoformat(raw.replace("Z", "+00:00")).astimezone(UTC)
