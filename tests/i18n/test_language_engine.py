"""Negotiation, segment counts, rendering and reply keywords, checked against hand-worked examples."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from outreach.i18n import (
    MissingPlaceholder,
    SystemText,
    TemplateKey,
    UnknownTemplate,
    count_segments,
    find_urgent,
    format_datetime_local,
    match_keyword,
    negotiate,
    render_system,
    render_template,
    render_text,
)

APPOINTMENT = datetime(2026, 3, 3, 19, 30, tzinfo=UTC)  # 14:30 in New York
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
        ("es-MX", "es"),
        ("pt-BR", "pt"),
        ("zh-TW", "zh-Hant"),
        ("zh-HK", "zh-Hant"),
        ("zh-MO", "zh-Hant"),
        ("zh-CN", "zh-Hans"),
        ("zh-SG", "zh-Hans"),
        ("zh", "zh-Hans"),
        ("zh-Hant-US", "zh-Hant"),
        ("fil", "tl"),
        ("fil-PH", "tl"),
        ("tl-PH", "tl"),
        ("fa-AF", "fa"),
        ("prs", "fa"),
        ("ar-EG", "ar"),
        ("en-US", "en"),
        ("vi-VN", "vi"),
        ("ht-HT", "ht"),
        ("so-SO", "so"),
        ("uk-UA", "uk"),
    ],
)
def test_patient_tags_find_their_catalog(tag: str, expected: str) -> None:
    chosen = negotiate(tag)
    assert chosen.language == expected
    assert not chosen.fell_back


def test_unknown_language_falls_back_to_clinic_default_then_english_and_says_so() -> None:
    to_clinic = negotiate("he-IL", clinic_default="es")
    assert (to_clinic.language, to_clinic.fell_back) == ("es", True)
    assert "he-IL" in (to_clinic.reason or "")
    to_english = negotiate("he-IL", clinic_default="xx")
    assert (to_english.language, to_english.fell_back) == ("en", True)
    assert "not a valid" in (negotiate("not a tag!").reason or "")
    assert negotiate(None).fell_back


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # € is in the extension table: two septets each
        ("{}[]~^|\\", "GSM-7", 16, 1),
        ("a" * 152 + "€" + "a" * 10, "GSM-7", 164, 2),  # the escape pair is never split across parts
        ("Mañana a las 10", "GSM-7", 15, 1),  # ñ is in the GSM basic set
        ("Mamá", "UCS-2", 4, 1),  # á is not: the whole text becomes UCS-2
        ("x" * 70, "GSM-7", 70, 1),
        ("é" * 70, "GSM-7", 70, 1),  # é is GSM
        ("á" * 70, "UCS-2", 70, 1),
        ("á" * 71, "UCS-2", 71, 2),
        ("á" * 134, "UCS-2", 134, 2),
        ("á" * 135, "UCS-2", 135, 3),
        ("👍" * 35, "UCS-2", 70, 1),  # emoji take two UTF-16 units
        ("a" * 66 + "👍", "UCS-2", 68, 1),
        ("a" * 66 + "👍" + "b" * 3, "UCS-2", 71, 2),  # a surrogate pair never splits across parts
        ("Chào quý vị", "UCS-2", 11, 1),  # Vietnamese
        ("مرحبا", "UCS-2", 5, 1),
    ],
)
def test_segments_match_hand_counts(text: str, encoding: str, units: int, segments: int) -> None:
    counted = count_segments(text)
    assert (counted.encoding, counted.units, counted.segments) == (encoding, units, segments)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("es", "martes, 3 de marzo, 14:30"),
        ("en", "Tuesday, March 3, 2:30 PM"),
        ("vi", "Thứ Ba, 3 tháng 3, 14:30"),
        ("ru", "вторник, 3 марта, 14:30"),
        ("ht", "madi 3 mas, 14:30"),
        ("fa", "سه\u200cشنبه ۳ مارس، ۱۴:۳۰"),
        ("ar", "الثلاثاء، 3 مارس، 2:30 م"),
    ],
)
def test_dates_in_the_patients_language_and_zone(language: str, expected: str) -> None:
    assert (
        format_datetime_local(APPOINTMENT, language=language, tz="America/New_York", part="datetime")
        == expected
    )


def test_dst_changes_the_local_time_not_the_instant() -> None:
    after_dst = datetime(2026, 3, 9, 18, 30, tzinfo=UTC)  # New York is UTC-4 after 2026-03-08
    assert format_datetime_local(after_dst, language="es", tz="America/New_York", part="time") == "14:30"


def test_reminder_in_spanish_is_plain_gsm_and_fits_two_segments() -> None:
    rendered = render_template(
        TemplateKey.APPOINTMENT_REMINDER, tag="es-MX", values=VALUES, tz="America/New_York"
    )
    assert rendered.language == "es"
    assert "martes, 3 de marzo a las 14:30" in rendered.body
    assert rendered.segments.encoding == "GSM-7"
    assert rendered.segments.segments == 2


def test_english_reminder_stays_gsm_despite_cldr_spaces() -> None:
    rendered = render_template(
        TemplateKey.APPOINTMENT_REMINDER, tag="en", values=VALUES, tz="America/New_York"
    )
    assert "2:30 PM" in rendered.body
    assert rendered.segments.encoding == "GSM-7"


def test_arabic_isolates_latin_values_so_numbers_keep_their_order() -> None:
    rendered = render_template(
        TemplateKey.APPOINTMENT_REMINDER, tag="ar", values=VALUES, tz="America/New_York"
    )
    assert "\u2068+1 202-555-0100\u2069" in rendered.body
    assert "\u2068Riverside Clinic\u2069" in rendered.body
    assert rendered.segments.encoding == "UCS-2"
    spanish = render_template(
        TemplateKey.APPOINTMENT_REMINDER, tag="es", values=VALUES, tz="America/New_York"
    )
    assert "\u2068" not in spanish.body


def test_fallback_is_reported_with_the_text() -> None:
    rendered = render_template(TemplateKey.CHECKIN_POST_VISIT, tag="he", values=VALUES)
    assert (rendered.language, rendered.fell_back) == ("en", True)


def test_missing_placeholder_names_it_and_the_language() -> None:
    with pytest.raises(MissingPlaceholder) as caught:
        render_template(TemplateKey.APPOINTMENT_REMINDER, tag="vi", values={"clinic_name": "X"})
    assert caught.value.language == "vi"
    assert caught.value.placeholder in str(caught.value)
    with pytest.raises(MissingPlaceholder, match="emergency_number"):
        render_text("Call {emergency_number}", language="en", values={})


def test_unknown_template_is_a_clear_error() -> None:
    with pytest.raises(UnknownTemplate, match="no built-in text named 'diagnosis_note'"):
        render_template("diagnosis_note", tag="en", values={})


def test_help_reply_carries_the_ctia_fields_in_every_language() -> None:
    values = {"program_name": "Visit texts", "clinic_name": "Riverside", "clinic_phone": "+12025550100",
              "messages_per_month": 8}  # fmt: skip
    for tag in ("en", "es", "zh-Hans", "ar", "so"):
        body = render_system(SystemText.HELP, tag=tag, values=values).body
        for value in ("Visit texts", "Riverside", "+12025550100", "8"):
            assert value in body, (tag, value)
        assert any(word in body for word in ("STOP", "ALTO", "JOOJI", "停止", "توقف")), (tag, body)


@pytest.mark.parametrize(
    ("text", "language", "kind", "value"),
    [
        ("STOP", "es", "optout", None),
        ("stop", "vi", "optout", None),
        ("  Stop!! ", "en", "optout", None),
        ("ＳＴＯＰ", "zh-Hans", "optout", None),
        ("ALTO", "es", "optout", None),
        ("alto.", "es", "optout", None),
        ("Parar", "es", "optout", None),
        ("BAJA", "es", "optout", None),
        ("停止", "zh-Hans", "optout", None),
        ("退订", "zh-Hans", "optout", None),
        ("退訂", "zh-Hant", "optout", None),
        ("DỪNG", "vi", "optout", None),
        ("dung", "vi", "optout", None),
        ("NGỪNG", "vi", "optout", None),
        ("Arrêter", "fr", "optout", None),
        ("ARRETER", "fr", "optout", None),
        ("стоп", "ru", "optout", None),
        ("توقف", "ar", "optout", None),
        ("CANCEL", "en", "optout", None),
        ("please stop texting me", "en", "optout", None),
        ("No más mensajes por favor", "es", "optout", None),
        ("START", "es", "optin", None),
        ("unstop", "en", "optin", None),
        ("HELP", "ko", "help", None),
        ("ayuda", "es", "help", None),
        ("YES", "en", "confirm", None),
        ("sí", "es", "confirm", None),
        ("CANCELAR", "es", "cancel", None),
        ("1", "en", "answer", 1),
        ("２", "ja", "answer", 2),
        ("١", "ar", "answer", 1),
        ("৩", "bn", "answer", 3),
        ("۲", "fa", "answer", 2),
        ("3.", "en", "answer", 3),
        ("👍1", "en", "answer", 1),
    ],
)
def test_reply_keywords(text: str, language: str, kind: str, value: int | None) -> None:
    matched = match_keyword(text, language=language)
    assert matched is not None, text
    assert (matched.kind, matched.value) == (kind, value)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("the bus stop is closed", "en"),
        ("no", "en"),
        ("No", "es"),
        ("4", "en"),
        ("12", "en"),
        ("I can't make it, can we talk?", "en"),
        ("", "en"),
        ("!!!", "en"),
    ],
)
def test_ordinary_messages_are_not_keywords(text: str, language: str) -> None:
    assert match_keyword(text, language=language) is None


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("I have chest pain since morning", "en"),
        ("me duele el pecho", "es"),
        ("No puedo respirar", "es"),
        ("我胸痛", "zh-Hans"),
        ("không thở được", "vi"),
        ("I want to kill myself", "en"),
        ("Khó thở quá", "vi"),
        ("ألم في الصدر", "ar"),
        ("боль в груди", "ru"),
        ("CHEST PAIN", "so"),
    ],
)
def test_red_flags_are_found_in_the_patients_language_and_english(text: str, language: str) -> None:
    assert find_urgent(text, language=language) is not None


def test_ordinary_worry_is_not_a_red_flag() -> None:
    assert find_urgent("Can I move my appointment to Friday?", language="en") is None
    assert find_urgent("¿Puedo cambiar mi cita?", language="es") is None


def test_arabic_spelling_variants_match_the_same_words() -> None:
    assert find_urgent("الم في الصدر", language="ar") is not None  # alef without hamza
    assert find_urgent("أَلَمٌ فِي الصَّدْرِ", language="ar") is not None  # fully vowelled
    matched = match_keyword("مساعده", language="ar")  # ه typed for ة
    assert matched is not None
    assert matched.kind == "help"
