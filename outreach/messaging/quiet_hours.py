"""Quiet hours in the patient's own time zone: when a due text must wait for the morning."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def in_quiet_hours(local: time, *, start: time, end: time) -> bool:
    """Whether a local time of day is quiet; windows may cross midnight (21:00-08:00)."""
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def next_allowed(now: datetime, *, tz: str, start: time, end: time) -> datetime | None:
    """None when `now` is allowed for this patient, else the next moment quiet hours end (aware UTC)."""
    local = now.astimezone(_zone(tz))
    if not in_quiet_hours(local.time(), start=start, end=end):
        return None
    day = local.date() if local.time() < end else local.date() + timedelta(days=1)
    # Building the wall-clock time through the zone handles DST: a nonexistent 08:00 moves forward.
    wake = datetime.combine(day, end, tzinfo=_zone(tz))
    return wake.astimezone(now.tzinfo)
