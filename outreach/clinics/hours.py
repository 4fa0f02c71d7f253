"""When a clinic's care team answers texts, and when it next will.

Hours are a daily window in the clinic's own zone (start before end; no overnight shifts) on some ISO
weekdays ("12345" is Monday to Friday). A clinic that sets no hours promises no time, so nothing is said
about when the team will answer. An opening that falls in a DST gap moves forward, as campaign times do.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from outreach.campaigns.timing import local_at
from outreach.errors import Invalid


def check_hours(*, start: time | None, end: time | None, days: str) -> str:
    """The weekdays as stored ("135"), or Invalid naming the field and the reason."""
    if (start is None) != (end is None):
        raise Invalid(
            "staffed_end" if end is None else "staffed_start", "give both a start and an end, or neither"
        )
    if start is not None and end is not None and start >= end:
        raise Invalid(
            "staffed_end", f"{end:%H:%M} is not after {start:%H:%M} (overnight hours are not supported)"
        )
    wanted = sorted(set(days))
    if any(d not in "1234567" for d in wanted):
        raise Invalid("staffed_days", f"'{days}' must list ISO weekdays, 1 (Monday) to 7 (Sunday)")
    if start is not None and not wanted:
        raise Invalid("staffed_days", "choose at least one day")
    return "".join(wanted)


def next_opening(
    *, now: datetime, tz: str, start: time | None, end: time | None, days: str
) -> datetime | None:
    """None while the team is answering (or when it keeps no hours); otherwise when it next starts."""
    if start is None or end is None or not days:
        return None
    local = now.astimezone(ZoneInfo(tz))
    if str(local.isoweekday()) in days and start <= local.time() < end:
        return None
    for ahead in range(8):
        day = local.date() + timedelta(days=ahead)
        if str(day.isoweekday()) in days:
            opening = local_at(day, start, tz)
            if opening > now:
                return opening
    return None
