"""Red-flag matching (chest pain, can't breathe, suicide ...) that holds up against how people text.

Phrases live in `locales/<lang>/keywords.toml` under `[phrases] urgent`; `[redflag] negation` lists the
words that, just before a phrase or between its words, mean the patient says they do *not* have it
("no chest pain", "chest doesn't hurt"), and `negation_after` the endings that do so after it (Japanese
"痛くない", Hindi "नहीं"); `exclude` lists idioms ("heat stroke") and `clitics` letters written onto
the front of a word (Arabic ال). A comma ends a negation's reach. What the matcher forgives, and why:

- Case, width, accents and tone marks, Arabic-script spelling variants (see `folding.normalize`), and
  native or full-width digits (Arabizi "ma 2dar" = "ma ٢dar").
- Words between a phrase's words, in either order, inside one sentence: "chest really hurts so much",
  "pain in my chest". At most `GAP` extra words (or `CHAR_GAP` characters, in scripts written without
  spaces).
- Endings: a phrase word of 3+ letters (2 in other scripts, 1 Hangul syllable) matches words that begin
  with it ("seizure" → "seizures"), except when written with a trailing `=` ("die=" must not match
  "diet"). Shorter words must match exactly.
- One typo (an insert, a deletion, a changed letter or two neighbours swapped) in words of 4+ letters of
  Latin, Greek, Cyrillic or Armenian script, when the first letter is right: "suicde", "pian", "bleding".
- Scripts written without spaces (Chinese, Japanese, Thai, Lao, Khmer, Burmese): a phrase's parts,
  written with spaces in the table ("胸 痛"), are found in order with up to `CHAR_GAP` characters between.

What it cannot catch is listed in `locales/README.md` (paraphrase with none of the words, negation
outside its short window, sarcasm, languages we have no table for).
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import pairwise

from rapidfuzz.distance import OSA

from outreach.i18n.folding import normalize
from outreach.i18n.languages import CATALOG_DIRS, locales_dir

GAP = 3  # extra words a spaced phrase may have between or around its own words
CHAR_GAP = {"cjk": 4, "sea": 9}  # extra characters in unspaced scripts (Southeast Asian syllables are longer)
# An apostrophe before an English contraction's ending joins the word (can't = cant); any other, as in
# French and Italian elision (n'ai, un'overdose, l'aria), separates two words.
_CONTRACTION = re.compile(r"['’ʼ`´](?=(?:t|s|m|d|re|ll|ve)\b)")
_APOSTROPHE = re.compile(r"['’ʼ`´]")
# Armenian writes its question and emphasis marks inside words (ունե՞ք): they are not word breaks.
_IN_WORD = dict.fromkeys(range(0x055B, 0x055F), None)
# Letters and signs people drop when typing fast: Polish ł, Nordic ø, and in Indic scripts the nukta
# (ज़ = ज) and the chandrabindu written as an anusvara (साँस = सांस).
_COMMAS = frozenset(",，、،၊՝;")
_LETTER_FOLD = str.maketrans(
    {"ł": "l", "ø": "o", "æ": "ae", "œ": "oe", "ı": "i", "\u0901": "\u0902", "\u0981": "\u0982"}
    | dict.fromkeys(map(ord, "\u093c\u09bc\u0a3c\u0abc"), None)
)


def _shortest_prefix(token: str) -> int:
    """How long a table word must be to match longer words: Hangul syllables are words' worth of sound."""
    family = _script(token[0])
    return 3 if family == "alpha" else 1 if 0xAC00 <= ord(token[0]) <= 0xD7A3 else 2


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
    ids: tuple[int, ...] = ()  # each word's index in the language's vocabulary
    block: int = 0  # the 128-code-point block of its first letter: a text without it cannot match


@dataclass(frozen=True, slots=True)
class Rules:
    """One language's red-flag phrases, negation cues and idioms, normalized and indexed."""

    phrases: tuple[Phrase, ...]
    negation: frozenset[str]
    negation_after: tuple[str, ...]
    after_words: frozenset[str]  # negation_after as words, for scripts written with spaces
    exclude: tuple[str, ...]  # idioms that only look like a red flag ("heat stroke", "dying to")
    clitics: tuple[str, ...]  # letters written onto the front of a word (Arabic ال, و)
    exact: dict[str, tuple[int, ...]]
    prefix: dict[str, tuple[int, ...]]
    fuzzy: dict[str, tuple[tuple[str, int], ...]]


def fold(text: str) -> str:
    """`keywords.normalize` plus what matching needs: ASCII digits, no apostrophes, a few letter folds."""
    folded = normalize(text.translate(_IN_WORD)).translate(_LETTER_FOLD)
    folded = _APOSTROPHE.sub(" ", _CONTRACTION.sub("", folded))
    return "".join(str(d) if (d := unicodedata.decimal(c, None)) is not None else c for c in folded)


def clauses(text: str) -> list[str]:
    """A message cut at its sentence punctuation; commas stay as " , " (a soft break negation stops at)."""
    out, current = [], []
    for char in fold(text):
        kind = unicodedata.category(char)
        if kind == "Pd" or kind[0] == "S":
            current.append(" ")
        elif char in _COMMAS:
            current.append(" , ")
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
        pieces = [p for p in " ".join(clauses(word.rstrip("="))).split() if p != ","]  # "self-harm": 2 words
        parts += pieces
        exact += [False] * (len(pieces) - 1) + [word.endswith("=")]
    family = _script(parts[0][0]) if parts else "other"
    return Phrase(
        text=normalize(raw.replace("=", "")),
        parts=tuple(parts),
        exact=tuple(exact),
        unspaced=family if family in CHAR_GAP else None,
        block=ord(parts[0][0]) >> 7 if parts else 0,
    )


def _indexed(
    phrases: list[Phrase],
) -> tuple[list[Phrase], dict[str, list[int]], dict[str, list[int]], dict[str, list[tuple[str, int]]]]:
    vocab: dict[tuple[str, bool], int] = {}
    exact: dict[str, list[int]] = {}
    prefix: dict[str, list[int]] = {}
    fuzzy: dict[str, list[tuple[str, int]]] = {}
    out = []
    for phrase in phrases:
        ids = []
        for token, whole in zip(phrase.parts, phrase.exact, strict=True):
            key = (token, whole or len(token) < _shortest_prefix(token))
            if key not in vocab:
                vocab[key] = n = len(vocab)
                exact.setdefault(token, []).append(n)
                if not key[1]:
                    prefix.setdefault(token, []).append(n)
                    if len(token) >= 4 and _script(token[0]) == "alpha":
                        fuzzy.setdefault(token[0], []).append((token, n))
            ids.append(vocab[key])
        out.append(replace(phrase, ids=tuple(ids)))
    return out, exact, prefix, fuzzy


@lru_cache(maxsize=64)
def rules(language: str) -> Rules:
    """The red-flag rules of one language (empty when it has no table)."""
    path = locales_dir() / CATALOG_DIRS[language] / "keywords.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    extra = data.get("redflag", {})
    raw = [_phrase(p) for p in data.get("phrases", {}).get("urgent", []) if p.strip()]
    phrases, exact, prefix, fuzzy = _indexed(raw)
    return Rules(
        phrases=tuple(phrases),
        negation=frozenset(fold(n) for n in extra.get("negation", [])),
        negation_after=tuple(fold(n) for n in extra.get("negation_after", [])),
        after_words=frozenset(fold(n) for n in extra.get("negation_after", [])),
        exclude=tuple(fold(n) for n in extra.get("exclude", [])),
        clitics=tuple(sorted((fold(n) for n in extra.get("clitics", [])), key=len, reverse=True)),
        exact={k: tuple(v) for k, v in exact.items()},
        prefix={k: tuple(v) for k, v in prefix.items()},
        fuzzy={k: tuple(v) for k, v in fuzzy.items()},
    )


def _close(word: str, token: str) -> bool:
    """One edit or one swap of neighbours away, allowing an ending after the word ("bleding" → "bleed")."""
    n = len(token)
    return any(
        OSA.distance(word[:k], token, score_cutoff=1) <= 1 for k in (n - 1, n, n + 1) if k <= len(word)
    )


@lru_cache(maxsize=65536)
def _ids(word: str, language: str) -> frozenset[int]:
    """The vocabulary words this text word matches: exactly, as a longer form, or with one typo.

    Cached per word and language: everyday words ("my", "the", "是") recur in every message.
    """
    rules_ = rules(language)
    found = set(rules_.exact.get(word, ()))
    for k in range(1, len(word)):
        found.update(rules_.prefix.get(word[:k], ()))
    for clitic in rules_.clitics:  # Arabic writes "the" and "and" onto the word: الانتحار = ال + انتحار
        if word.startswith(clitic) and len(word) > len(clitic) + 1:
            found.update(rules_.exact.get(word[len(clitic) :], ()))
    if len(word) >= 4:
        found.update(
            i for token, i in rules_.fuzzy.get(word[0], ()) if i not in found and _close(word, token)
        )
    return frozenset(found)


def _negated_words(words: Sequence[str], cues: frozenset[str]) -> bool:
    """Whether any word, or two words read together ("do not"), is a negation cue."""
    return any(w in cues for w in words) or any(f"{a} {b}" in cues for a, b in pairwise(words))


def _before(words: Sequence[str], start: int) -> list[str]:
    """Up to GAP words before a match, stopping at a comma ("no, my chest hurts" is not negated)."""
    out: list[str] = []
    for word in reversed(words[max(0, start - GAP) : start]):
        if word == ",":
            break
        out.append(word)
    return out[::-1]


def _after(words: Sequence[str], end: int) -> list[str]:
    """Up to two words after a match, stopping at a comma (Hindi "दर्द नहीं है": no pain)."""
    out: list[str] = []
    for word in words[end : end + 2]:
        if word == ",":
            break
        out.append(word)
    return out


def _spaced(phrase: Phrase, words: Sequence[str], hits: Sequence[frozenset[int]], rules_: Rules) -> bool:
    wanted = set(phrase.ids)
    size = len(phrase.ids)
    for start, here in enumerate(hits):
        if here.isdisjoint(wanted):
            continue
        used: list[int] = []
        for token in phrase.ids:
            window = range(start, min(len(hits), start + size + GAP))
            found = next((i for i in window if i not in used and token in hits[i]), None)
            if found is None:
                break
            used.append(found)
        else:
            between = [words[i] for i in range(start, max(used)) if i not in used and words[i] != ","]
            if _negated_words([*_before(words, start), *between], rules_.negation):
                continue
            if not _negated_words(_after(words, max(used) + 1), rules_.after_words):
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


def _unspaced(phrase: Phrase, text: str, rules_: Rules) -> bool:
    gap = CHAR_GAP[phrase.unspaced or "cjk"]
    for start, end, between in _unspaced_hits(phrase, text):
        if any(
            cue in text[max(0, start - len(cue) - gap) : start] or cue in between for cue in rules_.negation
        ):
            continue
        if any(text.find(cue, end, end + 3 + len(cue)) >= 0 for cue in rules_.negation_after):
            continue
        return True
    return False


@lru_cache(maxsize=1024)
def _fold_cached(text: str) -> str:
    return fold(text)


@dataclass(frozen=True, slots=True)
class _Clause:
    words: tuple[str, ...]
    joined: str  # without spaces or commas, for scripts written without spaces
    blocks: frozenset[int]  # which 128-code-point blocks its letters come from


def _clause(text: str) -> _Clause:
    joined = text.replace(" ", "").replace(",", "")
    return _Clause(tuple(text.split()), joined, frozenset(ord(c) >> 7 for c in joined))


@lru_cache(maxsize=1024)
def _cut(text: str) -> tuple[_Clause, ...]:
    # The inbox asks every language about one unmatched text: cut it once, and skip, per language,
    # the phrases in scripts the text does not use (a Latin text never reads Devanagari phrases).
    return tuple(_clause(c) for c in clauses(text))


@lru_cache(maxsize=4096)
def find(text: str, language: str) -> str | None:
    """The red-flag phrase of `language` in a message, as the table writes it, or None.

    Cached: the inbox asks about English once per language it tries for an unknown sender.
    """
    rules_ = rules(language)
    cut = _cut(text)
    if rules_.exclude:
        folded = _fold_cached(text)
        if any(idiom in folded for idiom in rules_.exclude):
            for idiom in rules_.exclude:
                folded = folded.replace(idiom, " . ")
            cut = _cut(folded)
    for clause in cut:
        phrases = [p for p in rules_.phrases if p.block in clause.blocks]
        if not phrases:
            continue
        hits = [_ids(w, language) if w != "," else frozenset() for w in clause.words]
        present = frozenset().union(*hits)
        for phrase in phrases:
            if phrase.unspaced:
                if _unspaced(phrase, clause.joined, rules_):
                    return phrase.text
            elif present.issuperset(phrase.ids) and _spaced(phrase, clause.words, hits, rules_):
                return phrase.text
    return None
