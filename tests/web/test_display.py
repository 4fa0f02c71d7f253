"""How values read on the pages: language names, text direction, waiting times, masked numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from outreach.web.display import ago, language_name, masked_phone, offset, text_dir, text_lang


@pytest.mark.parametrize(
    ("tag", "direction"),
    [("ar", "rtl"), ("ar-EG", "rtl"), ("ur", "rtl"), ("fa", "rtl"), ("prs", "rtl"), ("es-MX", "auto"),
     ("zh-TW", "auto"), ("he", "auto"), ("und", "auto"), ("not a tag", "auto"), (None, "auto")],
)  # fmt: skip
def test_right_to_left_languages_are_marked_rtl(tag: str | None, direction: str) -> None:
    assert text_dir(tag) == direction


def test_language_names_read_as_people_say_them() -> None:
    assert language_name("es-MX") == "Spanish (Mexico)"
    assert language_name("ar") == "Arabic"
    assert language_name("und") == "Unknown language"
    assert language_name("xx-nonsense-tag!") == "xx-nonsense-tag!"


def test_waiting_time_reads_in_minutes_hours_and_days() -> None:
    now = datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
    assert ago(now - timedelta(seconds=20), now) == "just now"
    assert ago(now - timedelta(minutes=4), now) == "4 min"
    assert ago(now - timedelta(hours=2, minutes=5), now) == "2 h 5 min"
    assert ago(now - timedelta(days=3, hours=1), now) == "3 d"


def test_phone_numbers_show_only_the_last_four_digits() -> None:
    assert masked_phone("+12025550104") == "•••0104"
    assert masked_phone("") == "—"


def test_reminder_offsets_read_before_or_after_the_visit() -> None:
    assert offset(-1440) == "24 h before the visit"
    assert offset(-90) == "1 h 30 min before the visit"
    assert offset(30) == "30 min after the visit"


def test_texts_are_marked_with_the_language_they_are_written_in() -> None:
    assert text_lang("es-MX") == "es"
    assert text_lang("zh-TW") == "zh-Hant"
    assert text_lang("he") == "en"  # no Hebrew catalog: the text is in English
