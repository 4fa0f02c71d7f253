"""SMS segment counting: GSM-7 (with its extension table) or UCS-2, as carriers bill them."""

from __future__ import annotations

import re
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


_GSM_ALL = GSM_BASIC | GSM_EXTENDED
# Scanning with C-level string methods and one compiled regex: a per-character Python loop would be
# most of the cost of rendering a text.
_NON_GSM = re.compile("[^" + "".join(re.escape(c) for c in sorted(_GSM_ALL)) + "]")
_ASCII_NOT_GSM = re.compile("[`\x00-\x09\x0b\x0e-\x1f\x7f]")


def _gsm_septets(text: str) -> int | None:
    if text.isascii():
        if _ASCII_NOT_GSM.search(text):
            return None
    elif _NON_GSM.search(text):
        return None
    return len(text) + sum(text.count(c) for c in GSM_EXTENDED if c in text)


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
        if septets <= 160:
            return Segments("GSM-7", septets, 1)
        plain = septets == len(text)  # no escape pairs: parts are a plain division
        return Segments("GSM-7", septets, -(-septets // 153) if plain else _gsm_parts(text))
    units = len(text.encode("utf-16-le")) // 2
    astral = units != len(text)
    if units <= 70:
        return Segments("UCS-2", units, 1)
    return Segments("UCS-2", units, _ucs2_parts(text) if astral else -(-units // 67))
