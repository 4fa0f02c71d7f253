"""Counts on the campaign pages said in words: plural forms, why patients were left out, fallbacks grouped."""

from __future__ import annotations

from outreach.web.wording import fallback_groups, left_out, plural


def test_one_text_many_texts() -> None:
    assert (plural(1, "text"), plural(0, "text"), plural(3, "patient")) == ("1 text", "0 texts", "3 patients")


def test_left_out_says_why() -> None:
    assert left_out({"consent_revoked": 4, "consent_unknown": 2}) == (
        "6 left out: 4 opted out, 2 never agreed to texts"
    )
    assert left_out({}) == "none left out"


def test_fallbacks_are_grouped_by_the_language_used_and_name_the_languages() -> None:
    lines = fallback_groups({"uk->en": 3, "so->en": 1, "ps->es": 1, "fa-AF->en": 2})
    assert lines == [
        "6 texts in English for patients who read Ukrainian (3) or Persian (Afghanistan) (2) or Somali (1)",
        "1 text in Spanish for patients who read Pashto (1)",
    ]
