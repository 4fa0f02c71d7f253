"""Every catalog complete, faithful to the source placeholders, really translated, and current."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from outreach.i18n import SUPPORTED, match_keyword, placeholders, template_text
from outreach.i18n.catalogs import stale
from outreach.i18n.keywords import table
from outreach.i18n.languages import CATALOG_DIRS, locales_dir
from outreach.i18n.messages import SYSTEM_TEXTS, TEMPLATES

SOURCES = [*SYSTEM_TEXTS.values(), *TEMPLATES.values()]
TRANSLATED = [lang for lang in SUPPORTED if lang != "en"]
REQUIRED = {"en", "es", "zh-Hans", "zh-Hant", "vi", "tl", "ko", "ru", "ar", "ht", "pt", "fr", "pl", "hi",
            "bn", "ur", "fa", "so", "am", "uk"}  # fmt: skip


def _catalog(language: str) -> dict[str, str]:
    path = locales_dir() / CATALOG_DIRS[language] / "LC_MESSAGES" / "outreach.po"
    with path.open("rb") as handle:
        return {str(m.id): str(m.string) for m in read_po(handle) if m.id}


def test_all_twenty_languages_are_supported() -> None:
    assert set(SUPPORTED) >= REQUIRED


def test_catalogs_are_current_with_the_source() -> None:
    assert stale() == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_text_translated_with_identical_placeholders(language: str) -> None:
    catalog = _catalog(language)
    for source in SOURCES:
        translated = catalog.get(source, "")
        assert translated, f"{language}: missing translation of {source[:50]!r}"
        assert placeholders(translated) == placeholders(source), (
            f"{language}: placeholders differ in {source[:50]!r}"
        )
        assert translated != source, f"{language}: English copied for {source[:50]!r}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_compiled_catalog_is_what_rendering_uses(language: str) -> None:
    catalog = _catalog(language)
    for source in SOURCES[:3]:
        everything: dict[str, str] = {str(k): v for k, v in [*SYSTEM_TEXTS.items(), *TEMPLATES.items()]}
        key = next(k for k, v in everything.items() if v == source)
        assert template_text(key, language) == catalog[source]


@pytest.mark.parametrize("language", TRANSLATED)
def test_no_catalog_reads_like_english(language: str) -> None:
    text = " ".join(_catalog(language).values())
    english_words = re.findall(r"\b(?:you|your|please|the|visit|reply|call)\b", text.lower())
    assert len(english_words) <= 2, f"{language} has English words: {english_words}"


@pytest.mark.parametrize("language", SUPPORTED)
def test_every_language_has_a_keyword_table(language: str) -> None:
    words = table(language)
    assert words.words["optout"], f"{language}: no opt-out words"
    assert words.words["help"], f"{language}: no help word"
    assert words.words["confirm"], f"{language}: no confirm word"
    assert len(words.urgent_phrases) >= 10, f"{language}: too few red-flag phrases"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_reply_word_a_text_names_is_understood(language: str) -> None:
    for text in _catalog(language).values():
        without_placeholders = re.sub(r"\{[a-z_]+\}", "", text)
        capitals = "".join(c if c.isupper() else " " for c in without_placeholders).split()
        for word in capitals:
            if len(word) >= 2 and word != "SMS":
                understood = match_keyword(word, language=language)
                assert understood is not None, (
                    f"{language}: a text says to reply {word}, which is not a keyword"
                )
                assert understood.kind in {"optout", "optin", "help"}
