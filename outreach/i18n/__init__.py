"""Languages: negotiation, rendering, segment counting and reply keywords."""

from __future__ import annotations

from functools import lru_cache

from babel import Locale, UnknownLocaleError

from outreach.i18n.segments import Segments, count_segments

__all__ = ["Segments", "count_segments", "is_valid_tag"]


@lru_cache(maxsize=512)
def is_valid_tag(tag: str) -> bool:
    """Whether `tag` is a BCP-47 language tag that Babel understands (es, es-MX, zh-Hant-TW, fil)."""
    if not tag or len(tag) > 35 or not all(part.isalnum() for part in tag.split("-")):
        return False
    try:
        Locale.parse(tag, sep="-")
    except (ValueError, UnknownLocaleError):
        return False
    return True
