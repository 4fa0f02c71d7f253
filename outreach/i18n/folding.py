"""Folding a reply for matching: width, case, Latin accents, Arabic-script variants, edge punctuation."""

from __future__ import annotations

import unicodedata

_EDGE = ("P", "S", "Z", "C")  # punctuation, symbols (emoji), separators, controls
# Arabic-script spellings patients mix freely: hamza forms of alef, taa marbuta, Arabic vs Persian
# yeh and kaf, the tatweel stretch, a zero-width non-joiner, and the optional short-vowel marks.
_ARABIC_FOLD = str.maketrans(
    {"أ": "ا", "إ": "ا", "آ": "ا", "ة": "ه", "ى": "ی", "ي": "ی", "ك": "ک", "ـ": None, "\u200c": None}
    | {chr(c): None for c in range(0x064B, 0x0653)}
)


def normalize(text: str) -> str:
    """Fold width and case, drop Latin accents, trim punctuation and emoji at the ends, squeeze spaces."""
    folded = unicodedata.normalize("NFKC", text).casefold().replace("đ", "d").replace("’", "'")
    folded = folded.translate(_ARABIC_FOLD)
    decomposed = unicodedata.normalize("NFD", folded)
    kept: list[str] = []
    for char in decomposed:
        # Only marks on Latin/Greek/Cyrillic letters are accents; Indic and Arabic marks are letters' vowels.
        if unicodedata.category(char) == "Mn" and kept and ord(kept[-1]) < 0x0530:
            continue
        kept.append(char)
    text = unicodedata.normalize("NFC", "".join(kept))
    start, end = 0, len(text)
    while start < end and unicodedata.category(text[start])[0] in _EDGE:
        start += 1
    while end > start and unicodedata.category(text[end - 1])[0] in _EDGE:
        end -= 1
    return " ".join(text[start:end].split())
