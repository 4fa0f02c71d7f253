"""Which languages outreach speaks, and how a patient's BCP-47 tag finds the closest one."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from babel import localedata
from babel.core import parse_locale

# BCP-47 tag → catalog folder under locales/. English first: it is the last fallback.
CATALOG_DIRS: dict[str, str] = {
    "en": "en", "es": "es", "zh-Hans": "zh_Hans", "zh-Hant": "zh_Hant", "vi": "vi", "tl": "tl",
    "ko": "ko", "ru": "ru", "ar": "ar", "ht": "ht", "pt": "pt", "fr": "fr", "pl": "pl", "hi": "hi",
    "bn": "bn", "ur": "ur", "fa": "fa", "so": "so", "am": "am", "uk": "uk",
    "ja": "ja", "pa": "pa", "gu": "gu", "it": "it", "de": "de", "hy": "hy", "km": "km", "ne": "ne",
    "my": "my", "ps": "ps", "th": "th",
}  # fmt: skip
SUPPORTED: tuple[str, ...] = tuple(CATALOG_DIRS)
RTL = frozenset({"ar", "ur", "fa", "ps"})
# Languages a patient may name that we serve with a close catalog: Filipino is Tagalog-based; Dari
# (prs, fa-AF) is Persian in the same script, and Afghan patients read Iranian Persian without trouble.
_ALIASES = {"fil": "tl", "tl": "tl", "prs": "fa"}
_TRADITIONAL_REGIONS = frozenset({"TW", "HK", "MO"})
# The one script each catalog is written in, where a language has another in use: Punjabi in Pakistan is
# written in Shahmukhi (pa-Arab), which a reader of Gurmukhi cannot read, so pa-Arab finds no catalog.
_CATALOG_SCRIPT = {"pa": "Guru", "hy": "Armn", "ja": "Jpan", "ne": "Deva", "ps": "Arab", "ur": "Arab"}


def locales_dir() -> Path:
    """The folder holding the catalogs (OUTREACH_LOCALES_DIR, else the checkout's locales/)."""
    configured = os.environ.get("OUTREACH_LOCALES_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "locales"


@dataclass(frozen=True, slots=True)
class Negotiated:
    """The catalog chosen for a patient, and whether it is not the patient's own language."""

    language: str
    requested: str | None
    fell_back: bool
    reason: str | None


@lru_cache(maxsize=2048)
def is_valid_tag(tag: str) -> bool:
    """Whether `tag` is a BCP-47 language tag that Babel understands (es, es-MX, zh-Hant-TW, fil)."""
    return _parse(tag) is not None


@lru_cache(maxsize=2048)
def _parse(tag: str) -> tuple[str, str | None, str | None] | None:
    """(language, script, region) of a well-formed tag whose language Babel knows or we alias."""
    if not tag or len(tag) > 35 or not all(part.isalnum() for part in tag.replace("_", "-").split("-")):
        return None
    try:
        parts = parse_locale(tag.replace("_", "-"), sep="-")
    except ValueError:
        return None
    language, territory, script = parts[0].lower(), parts[1], parts[2]
    if language not in _ALIASES and not localedata.exists(language):
        return None
    return language, script, territory


def _catalog_for(tag: str) -> str | None:
    """The supported language a tag maps to, with no fallback."""
    parsed = _parse(tag)
    if parsed is None:
        return None
    code, script, region = parsed
    language = _ALIASES.get(code, code)
    if language == "zh":
        if script in ("Hans", "Hant"):
            return f"zh-{script}"
        return "zh-Hant" if region in _TRADITIONAL_REGIONS else "zh-Hans"
    if script is not None and script != _CATALOG_SCRIPT.get(language, script):
        return None
    return language if language in CATALOG_DIRS else None


@lru_cache(maxsize=4096)
def negotiate(tag: str | None, *, clinic_default: str = "en") -> Negotiated:
    """The patient's language if we have it (es-MX → es, zh-TW → zh-Hant), else the clinic's, else English."""
    if tag:
        found = _catalog_for(tag)
        if found is not None:
            return Negotiated(found, tag, fell_back=False, reason=None)
        reason = f"no catalog for '{tag}'" if is_valid_tag(tag) else f"'{tag}' is not a valid language tag"
    else:
        reason = "no language given"
    fallback = _catalog_for(clinic_default) or "en"
    return Negotiated(fallback, tag, fell_back=True, reason=f"{reason}; using {fallback}")
