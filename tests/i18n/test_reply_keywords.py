"""Each system reply names the reply words the inbound matcher accepts in the reply's own language."""

from __future__ import annotations

import re

import pytest

from outreach.i18n import SystemText, match_keyword, render_system
from outreach.i18n.keywords import normalize, table
from outreach.i18n.languages import CATALOG_DIRS

VALUES = {"program_name": "Visit texts", "clinic_name": "Riverside", "clinic_phone": "+12025550100",
          "messages_per_month": 8}  # fmt: skip
LANGUAGES = sorted(CATALOG_DIRS)


def _words_meaning(body: str, kind: str, language: str) -> set[str]:
    """Stretches of the reply the matcher reads as `kind` and that are the language's own reply words."""
    found = set()
    for start in range(len(body)):
        for end in range(start + 1, min(len(body), start + 20) + 1):
            piece = body[start:end]
            hit = match_keyword(piece, language=language)
            if hit is not None and hit.kind == kind and normalize(piece) in table(language).words[kind]:
                found.add(piece)
    return found


def _english_only(body: str, word: str) -> bool:
    return re.search(rf"(?<![A-Za-z]){word}(?![A-Za-z])", body) is not None


def test_all_thirty_one_languages_are_checked() -> None:
    assert len(LANGUAGES) == 31


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("key", "kind", "english"),
    [
        (SystemText.OPTOUT_CONFIRMATION, "optin", "START"),
        (SystemText.OPTIN_CONFIRMATION, "optout", "STOP"),
        (SystemText.OPTIN_CONFIRMATION, "help", "HELP"),
        (SystemText.HELP, "optout", "STOP"),
    ],
)
def test_reply_names_the_keyword_of_its_own_language(
    language: str, key: SystemText, kind: str, english: str
) -> None:
    rendered = render_system(key, tag=language, values=VALUES)
    assert rendered.language == language
    body = rendered.body
    own = _words_meaning(body, kind, language)
    if language == "en":
        assert match_keyword(english, language="en") is not None
        assert _english_only(body, english), body
        return
    assert own, body
    if normalize(english) not in table(language).words[kind]:  # German and Italian list START as theirs
        assert not _english_only(body, english), body


@pytest.mark.parametrize(
    ("language", "key", "expected"),
    [
        ("es", SystemText.OPTOUT_CONFIRMATION, "Responda INICIAR para volver a recibirlos."),
        ("es", SystemText.HELP, "Responda ALTO para dejar de recibirlos."),
        ("es", SystemText.OPTIN_CONFIRMATION, "Responda AYUDA para obtener ayuda. Responda ALTO"),
        ("ko", SystemText.OPTOUT_CONFIRMATION, "답장으로 '시작' 문자를 보내 주세요."),
        ("ja", SystemText.HELP, "停止するには「停止」と返信してください。"),
        ("ru", SystemText.OPTOUT_CONFIRMATION, "ответьте СТАРТ."),
        ("de", SystemText.HELP, "Antworten Sie STOPP, um keine SMS mehr zu bekommen."),
        ("en", SystemText.OPTOUT_CONFIRMATION, "Reply START to get texts again."),
    ],
)
def test_spanish_and_other_replies_read_as_written(language: str, key: SystemText, expected: str) -> None:
    assert expected in render_system(key, tag=language, values=VALUES).body


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_named_word_opts_the_patient_back_in(language: str) -> None:
    """Texting back exactly the word the STOP confirmation names is an opt-in in that language."""
    body = render_system(SystemText.OPTOUT_CONFIRMATION, tag=language, values=VALUES).body
    words = {
        piece
        for start in range(len(body))
        for end in range(start + 1, min(len(body), start + 20) + 1)
        if (hit := match_keyword(piece := body[start:end], language=language)) and hit.kind == "optin"
    }
    assert words, body
