"""When a campaign step means to reach a patient, and where quiet hours move it.

Rules, each decided here once:

* Reminder offsets are elapsed time: "-72 h" is 72 real hours before the visit, also across a DST change
  (the local clock time then differs by the shift; the notice the clinic asked for does not).
* A wall-clock time that does not exist (the spring-forward gap: 02:30 on 2026-03-08 in New York, 02:10 on
  Lord Howe Island's 30-minute shift) moves forward by the gap; a time that happens twice (the fall-back
  overlap) means its first occurrence. Both are what `zoneinfo` gives for `fold=0`.
* Quiet hours are a local-time window (default 21:00-08:00) in the patient's zone. A send inside it moves
  to the nearest allowed time that keeps its meaning. A reminder means "at least this much notice", so it
  moves earlier, to 15 minutes before the quiet hours began (the evening before an early visit); only
  when that moment has passed does it move later, and never to or past its appointment. A check-in or a
  broadcast moves later, to when the quiet hours end, never ahead of the moment the clinic chose.
* A send whose moment has passed is skipped with a reason, never sent late.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from outreach.messaging.quiet_hours import in_quiet_hours

DAY = timedelta(days=1)
# A reminder moved earlier goes this long before quiet hours start, so the scheduler's claim (a few
# seconds later) still falls outside them.
EARLY_MARGIN = timedelta(minutes=15)
MAX_REMINDER_LEAD = timedelta(days=30)
MIN_REMINDER_LEAD = timedelta(minutes=15)
MAX_CHECKINS = 52
MAX_FIRST_AFTER_DAYS = 365


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """A cached `ZoneInfo` (planning asks for the same few zones for every patient)."""
    return ZoneInfo(name)


@dataclass(frozen=True, slots=True)
class QuietHours:
    """The local-time window in which no text goes out; may cross midnight."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise ValueError("quiet hours need different start and end times")

    def contains(self, local: time) -> bool:
        """Whether a local time of day is quiet."""
        return in_quiet_hours(local, start=self.start, end=self.end)


@dataclass(frozen=True, slots=True)
class Planned:
    """The outcome of planning one send: when (UTC), or why it will not go."""

    send_at: datetime | None
    skip_reason: str | None
    moved: bool
    reason_code: str | None  # "past" | "no_allowed_time" | None


def local_at(day: date, at: time, tz: str) -> datetime:
    """A wall-clock time on a day in a zone, as aware UTC (gap: moved forward; overlap: first)."""
    local = datetime.combine(day, at, tzinfo=zone(tz))
    # A time in the gap does not round-trip; normalize through UTC so it lands after the gap.
    return local.astimezone(UTC)


def reminder_target(*, appointment_start: datetime, offset: timedelta) -> datetime:
    """The moment a reminder step means to fire: elapsed time from the visit's start."""
    return (appointment_start + offset).astimezone(UTC)


def checkin_series(
    *, anchor: datetime, tz: str, first_after_days: int, every_days: int, times: int, local_time: time
) -> list[datetime]:
    """Every moment a check-in step fires: anchor day + first_after_days, then every `every_days`."""
    first = anchor.astimezone(zone(tz)).date() + timedelta(days=first_after_days)
    return [local_at(first + timedelta(days=every_days * n), local_time, tz) for n in range(times)]


def plan_send(
    *, target: datetime, tz: str, quiet: QuietHours, now: datetime, not_after: datetime | None
) -> Planned:
    """Quiet hours, the deadline (`not_after`: a reminder's appointment) and the past, applied."""
    if target < now:
        return Planned(send_at=None, skip_reason="the send time has passed", moved=False, reason_code="past")
    local = target.astimezone(zone(tz))
    if not quiet.contains(local.time()):
        if not_after is not None and target >= not_after:
            return _no_time()
        return Planned(send_at=target, skip_reason=None, moved=False, reason_code=None)
    later = _quiet_end_after(local, quiet, tz)
    if not_after is None:
        return Planned(send_at=later, skip_reason=None, moved=True, reason_code=None)
    earlier = _quiet_start_before(local, quiet, tz) - EARLY_MARGIN
    for moved in (earlier, later):
        if now <= moved < not_after and not quiet.contains(moved.astimezone(zone(tz)).time()):
            return Planned(send_at=moved, skip_reason=None, moved=True, reason_code=None)
    return _no_time()


def _no_time() -> Planned:
    reason = "no allowed time outside quiet hours before the appointment"
    return Planned(send_at=None, skip_reason=reason, moved=False, reason_code="no_allowed_time")


def _quiet_end_after(local: datetime, quiet: QuietHours, tz: str) -> datetime:
    """When the quiet window containing `local` ends (UTC)."""
    day = local.date() if local.time() < quiet.end else local.date() + DAY
    return local_at(day, quiet.end, tz)


def _quiet_start_before(local: datetime, quiet: QuietHours, tz: str) -> datetime:
    """When the quiet window containing `local` began (UTC)."""
    day = local.date() if local.time() >= quiet.start else local.date() - DAY
    return local_at(day, quiet.start, tz)


def validate_reminder_offset(offset: timedelta) -> None:
    """Refuse reminder offsets that can never fire as a reminder."""
    if offset > -MIN_REMINDER_LEAD:
        raise ValueError("a reminder must go at least 15 minutes before the appointment (a negative offset)")
    if offset < -MAX_REMINDER_LEAD:
        raise ValueError("a reminder cannot go more than 30 days before the appointment")


def validate_after_event(offset: timedelta) -> None:
    """Refuse a journey step timed from the event that is not after it, or too far after it."""
    if offset <= timedelta(0):
        raise ValueError("a step timed from the patient's event must come after it (a positive offset)")
    if offset > timedelta(days=MAX_FIRST_AFTER_DAYS):
        raise ValueError(f"a step cannot come more than {MAX_FIRST_AFTER_DAYS} days after the event")


def validate_checkin(first_after_days: int, every_days: int, times: int) -> None:
    """Refuse check-in series that are empty, endless or repeat on the same moment."""
    if not 1 <= times <= MAX_CHECKINS:
        raise ValueError(f"times must be between 1 and {MAX_CHECKINS}")
    if not 0 <= first_after_days <= MAX_FIRST_AFTER_DAYS:
        raise ValueError(f"first_after_days must be between 0 and {MAX_FIRST_AFTER_DAYS}")
    if times > 1 and every_days < 1:
        raise ValueError("every_days must be at least 1 when a check-in repeats")
