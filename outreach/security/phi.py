"""Minimum necessary: a text must not say what a patient has, is tested for, takes or undergoes.

A clinic-written template or one-off text is checked at authoring time against the built-in terms of its
language (`phi_terms.toml`, with English's for every language) and the clinic's own additions; a match is
a 422 naming the field and the term. An admin may send it anyway with a reason, which is audited.
The segment cap is checked here too: a text longer than the clinic allows is refused before it is stored.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlmodel import Session, col, select

from outreach.errors import Invalid
from outreach.i18n import negotiate
from outreach.i18n.segments import count_segments
from outreach.security import audit
from outreach.security.models import PhiTerm
from outreach.security.policy import policy_for

_TERMS_FILE = Path(__file__).with_name("phi_terms.toml")
# Scripts written without spaces between words (Chinese, Japanese, Thai, Lao, Khmer, Burmese), or whose
# vowel signs break regex word boundaries (the Indic scripts), and Ethiopic, whose prefixes attach.
_ANYWHERE = re.compile(r"[\u0900-\u0eff\u1000-\u109f\u1200-\u139f\u1780-\u17ff\u2e80-\u9fff\uf900-\ufaff]")
_FOLD = str.maketrans({"ё": "е", "أ": "ا", "إ": "ا", "آ": "ا", "ي": "ی", "ك": "ک", "\u200c": " "})


def normalize(text: str) -> str:
    """Case-folded NFC text with look-alike letters merged (ё/е, Arabic alef and yeh forms, ZWNJ)."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().translate(_FOLD).split())


def _pattern(term: str) -> str:
    core = r"\w*".join(re.escape(part) for part in normalize(term).split("*"))
    if _ANYWHERE.search(term):
        return core
    return rf"(?<!\w){core}(?!\w)"


@dataclass(frozen=True, slots=True)
class TermList:
    """Compiled terms: one alternation, and the original term for each group."""

    regex: re.Pattern[str] | None
    terms: tuple[str, ...]

    def first_match(self, text: str) -> str | None:
        """The first listed term found in the text, or None."""
        if self.regex is None:
            return None
        found = self.regex.search(normalize(text))
        return None if found is None else self.terms[(found.lastindex or 1) - 1]


def compile_terms(terms: list[str]) -> TermList:
    """One regex over all terms (a group per term, longest first so phrases win over their words)."""
    unique = tuple(sorted({t.strip() for t in terms if t.strip()}, key=len, reverse=True))
    if not unique:
        return TermList(None, ())
    return TermList(re.compile("|".join(f"({_pattern(t)})" for t in unique)), unique)


@lru_cache(maxsize=1)
def built_in() -> dict[str, tuple[str, ...]]:
    """The shipped terms per catalog language."""
    with _TERMS_FILE.open("rb") as handle:
        data = tomllib.load(handle)
    return {language: tuple(str(t) for t in terms) for language, terms in data.items()}


def _base(language: str) -> str:
    return negotiate(language).language


def terms_for(*, session: Session, clinic_id: uuid.UUID, language: str) -> TermList:
    """The terms a text in `language` is checked against for this clinic."""
    base = _base(language)
    shipped = built_in()
    terms = set(shipped.get("en", ())) | set(shipped.get(base, ()))
    changes = session.exec(
        select(PhiTerm).where(
            PhiTerm.clinic_id == clinic_id, col(PhiTerm.language).in_(["*", base, language])
        )
    ).all()
    for change in changes:
        (terms.discard if change.allowed else terms.add)(change.term)
    if any(change.allowed for change in changes):
        allowed = {normalize(c.term) for c in changes if c.allowed}
        terms = {t for t in terms if normalize(t) not in allowed}
    return compile_terms(sorted(terms))


def check_text(
    *,
    session: Session,
    clinic_id: uuid.UUID,
    text: str,
    language: str,
    field: str,
    override_reason: str | None = None,
    key_id: uuid.UUID | None = None,
    lint: bool = True,
) -> None:
    """Refuse (422 on `field`) a text over the clinic's segment cap, or naming a PHI term unless overridden
    (`lint=False` checks the cap only: a coordinator's reply in a conversation the patient started)."""
    policy = policy_for(session=session, clinic_id=clinic_id)
    segments = count_segments(text)
    if segments.segments > policy.max_segments:
        raise Invalid(
            field,
            f"is {segments.segments} segments ({segments.encoding}); this clinic allows at most "
            f"{policy.max_segments} per text",
        )
    term = (
        terms_for(session=session, clinic_id=clinic_id, language=language).first_match(text) if lint else None
    )
    if term is None:
        return
    if not override_reason or len(override_reason.strip()) < 3:
        raise Invalid(
            field,
            f"contains '{term}' (language {language}), which reveals health information a text should not "
            "carry; remove it, or send with phi_override_reason",
        )
    audit.record(
        session=session,
        clinic_id=clinic_id,
        key_id=key_id,
        action="phi_override",
        reason=f"{field}: '{term}' ({language}): {override_reason.strip()}"[:1000],
    )
