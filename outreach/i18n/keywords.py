"""Reply keywords in every language: STOP/START/HELP, confirm/cancel, check-in answers, red flags.

Tables live beside each catalog in `locales/<lang>/keywords.toml`. Matching ignores case, width,
Latin accents (DỪNG = DUNG, ARRÊTER = ARRETER) and surrounding punctuation, emoji and spaces.

Decisions:
- A single keyword counts only when it is the whole message: "STOP" opts out, "the bus stop" does not.
- Opt-out phrases count anywhere in a message ("please stop texting me", "no más mensajes").
- English keywords work for every patient (many text STOP whatever their language) on top of their own.
- Bare CANCEL is an opt-out, as carriers and Twilio treat it; to cancel a visit a patient replies 2
  (or a cancel word of their own language that carriers do not reserve, such as CANCELAR).
- YES confirms a visit rather than opting in; START and UNSTOP opt in.
- "no" alone is never an opt-out.
- A message that is one digit 1-3 in any script (1, １, ١, ১, ۱) is an answer; the caller decides whether
  it confirms/cancels a reminder or answers a check-in.
"""

from __future__ import annotations

import tomllib
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from outreach.i18n import redflags
from outreach.i18n.folding import normalize
from outreach.i18n.languages import CATALOG_DIRS, locales_dir

__all__ = [
    "KeywordMatch",
    "Table",
    "find_urgent",
    "match_keyword",
    "normalize",
    "reply_word",
    "reply_words",
    "table",
]

Kind = Literal["optout", "optin", "help", "confirm", "cancel", "answer"]
_PRECEDENCE: tuple[Kind, ...] = ("optout", "optin", "help", "confirm", "cancel")


@dataclass(frozen=True, slots=True)
class KeywordMatch:
    """What a reply means, and for answers which number."""

    kind: Kind
    value: int | None
    language: str


@dataclass(frozen=True, slots=True)
class Table:
    """One language's normalized keywords and phrases."""

    words: dict[str, frozenset[str]]
    optout_phrases: tuple[str, ...]
    urgent_phrases: tuple[str, ...]


@lru_cache(maxsize=64)
def table(language: str) -> Table:
    """The keyword table of one language (empty when the language has none)."""
    path = locales_dir() / CATALOG_DIRS[language] / "keywords.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    words = data.get("keywords", {})
    phrases = data.get("phrases", {})
    return Table(
        words={kind: frozenset(normalize(w) for w in words.get(kind, [])) for kind in _PRECEDENCE},
        optout_phrases=tuple(normalize(p) for p in phrases.get("optout", [])),
        urgent_phrases=tuple(normalize(p) for p in phrases.get("urgent", [])),
    )


def _raw_words(language: str) -> dict[str, list[str]]:
    path = locales_dir() / CATALOG_DIRS[language] / "keywords.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    words: dict[str, list[str]] = data.get("keywords", {})
    return words


@lru_cache(maxsize=256)
def reply_word(language: str, kind: Literal["optout", "optin", "help"]) -> str:
    """The word a reply tells the patient to text: the first of its language's list, else English's."""
    for name in (language, "en"):
        listed = _raw_words(name).get(kind, []) if name in CATALOG_DIRS else []
        if listed:
            return listed[0]
    raise LookupError(f"no {kind} keyword for {language} or English")


def reply_words(language: str) -> dict[str, str]:
    """The placeholder values `{stop_word}`, `{start_word}`, `{help_word}` of one language."""
    return {
        "stop_word": reply_word(language, "optout"),
        "start_word": reply_word(language, "optin"),
        "help_word": reply_word(language, "help"),
    }


def _tables(language: str | None) -> list[Table]:
    names = [language] if language in CATALOG_DIRS and language != "en" else []
    return [table(name) for name in [*names, "en"]]


def _answer(text: str) -> int | None:
    if len(text) != 1:
        return None
    value = unicodedata.digit(text, None)
    return value if value in (1, 2, 3) else None


def match_keyword(text: str, *, language: str | None) -> KeywordMatch | None:
    """What a reply means, or None when a person should read it."""
    said = normalize(text)
    if not said:
        return None
    tables = _tables(language)
    lang = language or "en"
    if any(said in t.words["optout"] or any(p in said for p in t.optout_phrases) for t in tables):
        return KeywordMatch("optout", None, lang)
    for kind in _PRECEDENCE[1:]:
        if any(said in t.words[kind] for t in tables):
            return KeywordMatch(kind, None, lang)
    value = _answer(said)
    return KeywordMatch("answer", value, lang) if value is not None else None


def find_urgent(text: str, *, language: str | None) -> str | None:
    """The red-flag phrase in a message (chest pain, can't breathe, ...), if any.

    Looked for in the patient's language, then English; see `outreach.i18n.redflags` for what the
    matching forgives (typos, word order, missing accents, words in between) and what it refuses
    (negation: "no chest pain").
    """
    names = [language] if language in CATALOG_DIRS and language != "en" else []
    for name in [*names, "en"]:
        found = redflags.find(text, name)
        if found is not None:
            return found
    return None
