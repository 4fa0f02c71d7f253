"""Red-flag matching (chest pain, can't breathe, suicide ...) that holds up against how people text.

Phrases live in `locales/<lang>/keywords.toml` under `[phrases] urgent`; `[redflag] negation` lists the
words that, just before a phrase or between its words, mean the patient says they do *not* have it
("no chest pain", "chest doesn't hurt"), and `negation_after` the endings that do so after it (Japanese
"痛くない"). What the matcher forgives, and why:

- Case, width, accents and tone marks, Arabic-script spelling variants (see `keywords.normalize`), and
  native or full-width digits (Arabizi "ma 2dar" = "ma ٢dar").
- Words between a phrase's words, in either order, inside one clause: "chest really hurts so much",
  "my chest, it hurts" does not span the comma. At most `GAP` extra words (or characters, in scripts
  written without spaces).
- Endings: a phrase word of 3+ letters matches words that begin with it ("seizure" → "seizures"), except
  when written with a trailing `=` ("die=" must not match "diet"). Short words must match exactly.
- One typo (insert, delete, swap one letter) in words of 5+ letters of alphabetic scripts, when the first
  letter is right: "breth", "suicde", "bleding".
- Scripts written without spaces (Chinese, Japanese, Thai, Lao, Khmer, Burmese): a phrase's parts,
  written with spaces in the table ("胸 痛"), are found in order with up to `CHAR_GAP` characters between.

What it cannot catch is listed in `locales/README.md` (paraphrase with none of the words, negation
outside its short window, sarcasm, languages we have no table for).
"""

from __future__ import annotations

import tomllib
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from rapidfuzz.distance import Levenshtein

from outreach.i18n.folding import normalize
from outreach.i18n.languages import CATALOG_DIRS, locales_dir

GAP = 3  # extra words a spaced phrase may have between or around its own words
CHAR_GAP = {"cjk": 4, "sea": 9}  # extra characters in unspaced scripts (Southeast Asian syllables are longer)
_APOSTROPHES = dict.fromkeys(map(ord, "'’ʼ`´"), None)
# Armenian writes its question and emphasis marks inside words (ունե՞ք): they are not word breaks.
_IN_WORD = dict.fromkeys(range(0x055B, 0x055F), None)
# Letters and signs people drop when typing fast: Polish ł, Nordic ø, and in Indic scripts the nukta
# (ज़ = ज) and the chandrabindu written as an anusvara (साँस = सांस).
_LETTER_FOLD = str.maketrans(
    {"ł": "l", "ø": "o", "æ": "ae", "œ": "oe", "ı": "i", "\u0901": "\u0902", "\u0981": "\u0982"}
    | dict.fromkeys(map(ord, "\u093c\u09bc\u0a3c\u0abc"), None)
)


def _script(char: str) -> str:
    """The matching family of a character: "cjk", "sea" (no spaces), "alpha" (typos forgiven), "other"."""
    code = ord(char)
    if 0x3040 <= code <= 0x30FF or 0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF:
        return "cjk"
    if 0x0E00 <= code <= 0x0EFF or 0x1000 <= code <= 0x109F or 0x1780 <= code <= 0x17FF:
        return "sea"
    if code < 0x0590:  # Latin, Greek, Cyrillic, Armenian
        return "alpha"
    return "other"


@dataclass(frozen=True, slots=True)
class Phrase:
    """One red-flag phrase: its words (or, for unspaced scripts, its parts) as the table gives them."""

    text: str
    parts: tuple[str, ...]
    exact: tuple[bool, ...]
    unspaced: str | None  # "cjk" or "sea" for scripts written without spaces


@dataclass(frozen=True, slots=True)
class Rules:
    """One language's red-flag phrases and negation cues, normalized."""

    phrases: tuple[Phrase, ...]
    negation: frozenset[str]
    negation_after: tuple[str, ...]


def fold(text: str) -> str:
    """`keywords.normalize` plus what matching needs: ASCII digits, no apostrophes, a few letter folds."""
    folded = normalize(text.translate(_IN_WORD)).translate(_APOSTROPHES).translate(_LETTER_FOLD)
    return "".join(str(d) if (d := unicodedata.decimal(c, None)) is not None else c for c in folded)


def clauses(text: str) -> list[str]:
    """A message cut at its punctuation (a phrase never spans two clauses); symbols and dashes are spaces."""
    out, current = [], []
    for char in fold(text):
        kind = unicodedata.category(char)
        if kind == "Pd" or kind[0] == "S":
            current.append(" ")
        elif kind[0] == "P":
            out.append("".join(current))
            current = []
        else:
            current.append(char)
    out.append("".join(current))
    return [" ".join(c.split()) for c in out if c.strip()]


def _phrase(raw: str) -> Phrase:
    parts: list[str] = []
    exact: list[bool] = []
    for word in raw.split():
        pieces = " ".join(clauses(word.rstrip("="))).split()  # "self-harm" is two words, as texts are cut
        parts += pieces
        exact += [False] * (len(pieces) - 1) + [word.endswith("=")]
    family = _script(parts[0][0]) if parts else "other"
    return Phrase(
        text=normalize(raw.replace("=", "")),
        parts=tuple(parts),
        exact=tuple(exact),
        unspaced=family if family in CHAR_GAP else None,
    )


@lru_cache(maxsize=64)
def rules(language: str) -> Rules:
    """The red-flag rules of one language (empty when it has no table)."""
    path = locales_dir() / CATALOG_DIRS[language] / "keywords.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    extra = data.get("redflag", {})
    return Rules(
        phrases=tuple(_phrase(p) for p in data.get("phrases", {}).get("urgent", []) if p.strip()),
        negation=frozenset(fold(n) for n in extra.get("negation", [])),
        negation_after=tuple(fold(n) for n in extra.get("negation_after", [])),
    )


def _word_matches(word: str, token: str, exact: bool) -> bool:
    if word == token:
        return True
    if exact or len(token) < 3:
        return False
    if word.startswith(token):
        return True
    if len(token) < 5 or word[0] != token[0] or _script(token[0]) != "alpha":
        return False
    n = len(token)
    return any(Levenshtein.distance(word[:k], token, score_cutoff=1) <= 1 for k in {n - 1, n, n + 1})


def _negated_words(words: Sequence[str], cues: frozenset[str]) -> bool:
    """Whether any word, or two words read together ("do not"), is a negation cue."""
    return any(w in cues for w in words) or any(f"{a} {b}" in cues for a, b in pairwise(words))


def _spaced(phrase: Phrase, words: Sequence[str], rules_: Rules) -> bool:
    size = len(phrase.parts)
    for start, word in enumerate(words):
        if not any(_word_matches(word, t, e) for t, e in zip(phrase.parts, phrase.exact, strict=True)):
            continue
        window = words[start : start + size + GAP]
        used: set[int] = set()
        for token, exact in zip(phrase.parts, phrase.exact, strict=True):
            found = next(
                (i for i, w in enumerate(window) if i not in used and _word_matches(w, token, exact)), None
            )
            if found is None:
                break
            used.add(found)
        else:
            end = start + max(used) + 1
            between = [w for i, w in enumerate(words[start:end]) if i not in used]
            if not _negated_words([*words[max(0, start - GAP) : start], *between], rules_.negation):
                return True
    return False


def _unspaced_hits(phrase: Phrase, text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, text between the parts) of each in-order occurrence of an unspaced phrase."""
    gap = CHAR_GAP[phrase.unspaced or "cjk"]
    start = text.find(phrase.parts[0])
    while start >= 0:
        end, between = start + len(phrase.parts[0]), []
        for part in phrase.parts[1:]:
            found = text.find(part, end, end + gap + len(part))
            if found < 0:
                break
            between.append(text[end:found])
            end = found + len(part)
        else:
            yield start, end, "".join(between)
        start = text.find(phrase.parts[0], start + 1)


def _unspaced(phrase: Phrase, clause: str, rules_: Rules) -> bool:
    text = clause.replace(" ", "")
    for start, end, between in _unspaced_hits(phrase, text):
        before = text[max(0, start - 3) : start]
        if any(cue in before or cue in between for cue in rules_.negation):
            continue
        if any(text.startswith(cue, end) for cue in rules_.negation_after):
            continue
        return True
    return False


@lru_cache(maxsize=1024)
def _clauses(text: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    # The inbox asks every language about one unmatched text: cut it once.
    return tuple((c, tuple(c.split())) for c in clauses(text))


def find(text: str, language: str) -> str | None:
    """The red-flag phrase of `language` in a message, as the table writes it, or None."""
    rules_ = rules(language)
    cut = _clauses(text)
    for phrase in rules_.phrases:
        for clause, words in cut:
            hit = _unspaced(phrase, clause, rules_) if phrase.unspaced else _spaced(phrase, words, rules_)
            if hit:
                return phrase.text
    return None
