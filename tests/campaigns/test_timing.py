"""Timing rules by name: DST gaps and overlaps, quiet hours in the patient's zone, deadlines, the past."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from outreach.campaigns import timing
from outreach.db import utcnow

QUIET = timing.QuietHours(start=time(21, 0), end=time(8, 0))
NEW_YORK, LONDON, LORD_HOWE = "America/New_York", "Europe/London", "Australia/Lord_Howe"


def series(tz: str, anchor_day: datetime, local: time, *, times: int = 1, every: int = 1) -> list[datetime]:
    return timing.checkin_series(
        anchor=anchor_day, tz=tz, first_after_days=0, every_days=every, times=times, local_time=local
    )


def test_new_york_spring_forward_2026_03_08_a_missing_local_time_moves_forward_by_the_gap() -> None:
    (at,) = series(NEW_YORK, datetime(2026, 3, 8, 12, tzinfo=UTC), time(2, 30))
    assert at == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)  # 03:30 EDT
    assert at.astimezone(ZoneInfo(NEW_YORK)).strftime("%H:%M %Z") == "03:30 EDT"


def test_new_york_fall_back_2026_11_01_a_repeated_local_time_means_its_first_occurrence() -> None:
    (at,) = series(NEW_YORK, datetime(2026, 11, 1, 12, tzinfo=UTC), time(1, 30))
    assert at == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT, not the second 01:30 EST
    assert at.astimezone(ZoneInfo(NEW_YORK)).strftime("%Z") == "EDT"


def test_europe_london_weekly_check_in_keeps_ten_o_clock_local_across_2026_03_29() -> None:
    sent = series(LONDON, datetime(2026, 3, 22, 12, tzinfo=UTC), time(10, 0), times=2, every=7)
    assert [at.astimezone(ZoneInfo(LONDON)).strftime("%d %H:%M") for at in sent] == ["22 10:00", "29 10:00"]
    assert sent[1] - sent[0] == timedelta(days=7, hours=-1)  # the clock went forward in between


def test_lord_howe_half_hour_shift_gap_2026_10_04_and_overlap_2026_04_05() -> None:
    (gap,) = series(LORD_HOWE, datetime(2026, 10, 4, 0, tzinfo=UTC), time(2, 15))
    assert gap.astimezone(ZoneInfo(LORD_HOWE)).strftime("%H:%M") == "02:45"  # 02:00 -> 02:30 gap
    (overlap,) = series(LORD_HOWE, datetime(2026, 4, 5, 0, tzinfo=UTC), time(1, 45))
    assert overlap == datetime(2026, 4, 4, 14, 45, tzinfo=UTC)  # first 01:45, at UTC+11


def test_quiet_hours_end_at_eight_local_on_the_morning_new_york_springs_forward() -> None:
    night = datetime(2026, 3, 8, 6, 0, tzinfo=UTC)  # 01:00 EST, quiet
    planned = timing.plan_send(target=night, tz=NEW_YORK, quiet=QUIET, now=night, not_after=None)
    assert planned.moved
    assert planned.send_at == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)  # 08:00 EDT, not 08:00 EST


def test_the_same_moment_is_quiet_for_one_patient_and_allowed_for_another() -> None:
    moment = datetime(2026, 6, 10, 3, 0, tzinfo=UTC)  # 23:00 in New York, 04:00 in London, 13:00 Sydney
    for tz, expected in [
        (NEW_YORK, datetime(2026, 6, 10, 12, 0, tzinfo=UTC)),
        (LONDON, datetime(2026, 6, 10, 7, 0, tzinfo=UTC)),
        ("Australia/Sydney", moment),
    ]:
        planned = timing.plan_send(target=moment, tz=tz, quiet=QUIET, now=moment, not_after=None)
        assert planned.send_at == expected, tz


def test_a_reminder_moves_to_the_evening_before_and_never_past_its_visit() -> None:
    visit = datetime(2026, 6, 10, 9, 0, tzinfo=ZoneInfo(NEW_YORK))
    target = timing.reminder_target(appointment_start=visit, offset=timedelta(hours=-2))  # 07:00, quiet
    early_enough = datetime(2026, 6, 1, tzinfo=UTC)
    planned = timing.plan_send(target=target, tz=NEW_YORK, quiet=QUIET, now=early_enough, not_after=visit)
    assert planned.send_at == datetime(2026, 6, 9, 20, 45, tzinfo=ZoneInfo(NEW_YORK))

    # Launched after that evening: 08:00 on the day is still before the visit.
    late = datetime(2026, 6, 10, 6, 0, tzinfo=ZoneInfo(NEW_YORK))
    planned = timing.plan_send(target=target, tz=NEW_YORK, quiet=QUIET, now=late, not_after=visit)
    assert planned.send_at == datetime(2026, 6, 10, 8, 0, tzinfo=ZoneInfo(NEW_YORK))

    # A visit at 08:00 sharp leaves no allowed moment: skipped with a reason, not sent after the visit.
    at_eight = datetime(2026, 6, 10, 8, 0, tzinfo=ZoneInfo(NEW_YORK))
    target = timing.reminder_target(appointment_start=at_eight, offset=timedelta(minutes=-30))
    planned = timing.plan_send(target=target, tz=NEW_YORK, quiet=QUIET, now=late, not_after=at_eight)
    assert (planned.send_at, planned.reason_code) == (None, "no_allowed_time")


def test_a_send_whose_moment_has_passed_is_skipped_as_past() -> None:
    with freeze_time("2026-06-10T15:00:00Z"):
        now = utcnow()
        planned = timing.plan_send(
            target=now - timedelta(minutes=1), tz=NEW_YORK, quiet=QUIET, now=now, not_after=None
        )
    assert (planned.send_at, planned.reason_code) == (None, "past")


@pytest.mark.parametrize(
    ("offset", "words"),
    [
        (timedelta(0), "negative offset"),
        (timedelta(minutes=-5), "15 minutes"),
        (timedelta(days=-31), "30 days"),
    ],
)
def test_reminder_offsets_that_cannot_work_are_refused(offset: timedelta, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        timing.validate_reminder_offset(offset)


def test_check_in_series_that_repeat_on_the_same_moment_or_never_end_are_refused() -> None:
    with pytest.raises(ValueError, match="every_days"):
        timing.validate_checkin(1, 0, 3)
    with pytest.raises(ValueError, match="times"):
        timing.validate_checkin(1, 7, 0)
    timing.validate_checkin(0, 0, 1)  # a single check-in needs no interval
