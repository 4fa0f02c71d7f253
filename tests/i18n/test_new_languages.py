"""The languages added from the ACS limited-English ranking: tags, dates, digits, segments, keywords."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from outreach.i18n import TemplateKey, format_datetime_local, match_keyword, negotiate, render_template

APPOINTMENT = datetime(2026, 3, 3, 19, 30, tzinfo=UTC)  # Tuesday 14:30 in New York
VALUES = {
    "clinic_name": "Riverside Clinic",
    "first_name": "Ana",
    "appointment_date": APPOINTMENT,
    "appointment_time": APPOINTMENT,
    "appointment_location": "Main St",
    "clinic_phone": "+1 202-555-0100",
}


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("ja-JP", "ja"),
        ("de-AT", "de"),
        ("de-CH", "de"),
        ("it-IT", "it"),
        ("pa-IN", "pa"),
        ("pa-Guru-IN", "pa"),
        ("gu-IN", "gu"),
        ("hy-AM", "hy"),
        ("km-KH", "km"),
        ("ne-NP", "ne"),
        ("my-MM", "my"),
        ("ps-AF", "ps"),
        ("th-TH", "th"),
    ],
)
def test_regional_tags_find_the_new_catalogs(tag: str, expected: str) -> None:
    chosen = negotiate(tag)
    assert (chosen.language, chosen.fell_back) == (expected, False)


def test_punjabi_in_shahmukhi_script_is_not_served_a_gurmukhi_catalog() -> None:
    chosen = negotiate("pa-Arab-PK", clinic_default="en")
    assert (chosen.language, chosen.fell_back) == ("en", True)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("de", "Dienstag, 3. März, 14:30"),
        ("it", "martedì 3 marzo, 14:30"),
        ("ne", "मार्च ३, मङ्गलबार, १४:३०"),  # Devanagari digits, as CLDR gives Nepali
        ("my", "မတ် ၃၊ အင်္ဂါ, ၁၄:၃၀"),  # Burmese digits
        ("th", "วันอังคาร 3 มีนาคม, 14:30 น."),
    ],
)
def test_dates_and_native_digits_in_the_new_languages(language: str, expected: str) -> None:
    shown = format_datetime_local(APPOINTMENT, language=language, tz="America/New_York", part="datetime")
    assert shown == expected


@pytest.mark.parametrize(
    ("language", "encoding"), [("de", "GSM-7"), ("it", "GSM-7"), ("ja", "UCS-2"), ("km", "UCS-2")]
)
def test_segment_encoding_of_the_reminder(language: str, encoding: str) -> None:
    rendered = render_template(
        TemplateKey.APPOINTMENT_REMINDER, tag=language, values=VALUES, tz="America/New_York"
    )
    assert rendered.language == language
    assert rendered.segments.encoding == encoding


def test_pashto_is_right_to_left_and_isolates_the_phone_number() -> None:
    rendered = render_template(
        TemplateKey.APPOINTMENT_REMINDER, tag="ps", values=VALUES, tz="America/New_York"
    )
    assert "\u2068+1 202-555-0100\u2069" in rendered.body


@pytest.mark.parametrize(
    ("text", "language", "kind", "value"),
    [
        ("STOPP", "de", "optout", None),
        ("Hilfe", "de", "help", None),
        ("ja", "de", "confirm", None),
        ("basta", "it", "optout", None),
        ("sì", "it", "confirm", None),
        ("停止", "ja", "optout", None),
        ("はい", "ja", "confirm", None),
        ("キャンセル", "ja", "cancel", None),
        ("ਬੰਦ ਕਰੋ", "pa", "optout", None),
        ("ਹਾਂ", "pa", "confirm", None),
        ("બંધ", "gu", "optout", None),
        ("ԿԱՆԳ", "hy", "optout", None),
        ("այո", "hy", "confirm", None),
        ("ឈប់", "km", "optout", None),
        ("បាទ", "km", "confirm", None),
        ("रोक्नुहोस्", "ne", "optout", None),
        ("ရပ်", "my", "optout", None),
        ("ဟုတ်ကဲ့", "my", "confirm", None),
        ("بند", "ps", "optout", None),
        ("هو", "ps", "confirm", None),
        ("หยุด", "th", "optout", None),
        ("ยืนยัน", "th", "confirm", None),
        ("၁", "my", "answer", 1),  # Burmese digit one
        ("២", "km", "answer", 2),  # Khmer digit two
        ("໓", "th", "answer", 3),  # Lao digit three
        ("੨", "pa", "answer", 2),  # Gurmukhi digit two
        ("૧", "gu", "answer", 1),  # Gujarati digit one
        ("۳", "ps", "answer", 3),  # Persian digit three
    ],
)
def test_reply_words_and_native_digits(text: str, language: str, kind: str, value: int | None) -> None:
    matched = match_keyword(text, language=language)
    assert matched is not None, text
    assert (matched.kind, matched.value) == (kind, value)
