"""SMS segment counting: GSM-7 (with its extension table) or UCS-2, as carriers bill them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# GSM 03.38 basic character set (one septet each).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: escape + character, two septets each.
GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True, slots=True)
class Segments:
    """How a text is encoded, how many units it uses (septets or UTF-16 code units), and how many parts."""

    encoding: Literal["GSM-7", "UCS-2"]
    units: int
    segments: int


def _gsm_septets(text: str) -> int | None:
    total = 0
    for char in text:
        if char in GSM_BASIC:
            total += 1
        elif char in GSM_EXTENDED:
            total += 2
        else:
            return None
    return total


def _gsm_parts(text: str) -> int:
    # An escape pair is never split across two parts, so walk the text rather than divide.
    parts, used = 1, 0
    for char in text:
        cost = 2 if char in GSM_EXTENDED else 1
        if used + cost > 153:
            parts, used = parts + 1, 0
        used += cost
    return parts


def _ucs2_parts(text: str) -> int:
    # A surrogate pair (emoji) is never split across two parts either.
    parts, used = 1, 0
    for char in text:
        cost = 2 if ord(char) > 0xFFFF else 1
        if used + cost > 67:
            parts, used = parts + 1, 0
        used += cost
    return parts


def count_segments(text: str) -> Segments:
    """The encoding a phone will use for `text` and how many SMS parts it takes."""
    septets = _gsm_septets(text)
    if septets is not None:
        parts = 1 if septets <= 160 else _gsm_parts(text)
        return Segments("GSM-7", septets, parts)
    units = len(text.encode("utf-16-le")) // 2
    parts = 1 if units <= 70 else _ucs2_parts(text)
    return Segments("UCS-2", units, parts)
