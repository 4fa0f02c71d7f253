"""A clinic's template library: texts saved per language, and which translations are missing or stale.

The source text of a template is the one in the clinic's fallback language (what a patient without a
text of their own gets). A translation saved before the source last changed is stale: it is flagged, and
a campaign built from the library leaves it out (its patients get the source text, shown as a fallback)
until someone saves it again or confirms it still says the same.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from outreach import i18n
from outreach.campaigns.models import CampaignKind
from outreach.campaigns.service import check_text
from outreach.clinics.models import Clinic
from outreach.errors import Invalid, NotFound
from outreach.library.models import TemplateText
from outreach.sms.base import MAX_BODY_CHARS


@dataclass(frozen=True, slots=True)
class SavedText:
    """One language's text of a library template, and whether it is older than the source."""

    language: str
    body: str
    updated_at: datetime
    stale: bool


@dataclass(frozen=True, slots=True)
class LibraryTemplate:
    """A library template: its source language, its texts, and the clinic's languages it lacks."""

    name: str
    source_language: str
    texts: list[SavedText]
    missing: list[str]

    @property
    def stale(self) -> list[str]:
        """Languages whose text is older than the source."""
        return [t.language for t in self.texts if t.stale]

    def current_bodies(self) -> dict[str, str]:
        """The texts a campaign may send as current: the source and every translation newer than it."""
        return {t.language: t.body for t in self.texts if not t.stale}


def source_language(clinic: Clinic) -> str:
    """The language a library template's source text is written in (the clinic's fallback)."""
    return i18n.negotiate(None, clinic_default=clinic.default_language).language


def save_text(
    *, session: Session, clinic: Clinic, name: str, language: str, body: str, now: datetime
) -> TemplateText:
    """Save (or change) one language's text; saving the same text again keeps its date."""
    name, body = name.strip(), body.strip()
    if not name:
        raise Invalid("name", "must not be empty")
    if len(name) > 80:
        raise Invalid("name", f"is {len(name)} characters; the limit is 80")
    if language not in i18n.SUPPORTED:
        raise Invalid("language", f"'{language}' is not one of {', '.join(i18n.SUPPORTED)}")
    if not body:
        raise Invalid(f"body.{language}", "must not be empty")
    if len(body) > MAX_BODY_CHARS:
        raise Invalid(f"body.{language}", f"is {len(body)} characters; the limit is {MAX_BODY_CHARS}")
    check_text(kind=CampaignKind.REMINDER, text=body, language=language, where=f"body.{language}")
    found = _find(session=session, clinic_id=clinic.id, name=name, language=language)
    if found is None:
        found = TemplateText(clinic_id=clinic.id, name=name, language=language, body=body, created_at=now)
    elif found.body == body:
        return found
    found.body, found.updated_at = body, now
    session.add(found)
    session.flush()
    return found


def confirm_current(*, session: Session, clinic: Clinic, name: str, language: str, now: datetime) -> None:
    """A person checked a stale translation against the source: it is current again as it stands."""
    found = _find(session=session, clinic_id=clinic.id, name=name, language=language)
    if found is None:
        raise NotFound("template text")
    found.updated_at = now
    session.add(found)
    session.flush()


def _find(*, session: Session, clinic_id: uuid.UUID, name: str, language: str) -> TemplateText | None:
    return session.exec(
        select(TemplateText).where(
            TemplateText.clinic_id == clinic_id, TemplateText.name == name, TemplateText.language == language
        )
    ).first()


def library(*, session: Session, clinic: Clinic, wanted: list[str]) -> list[LibraryTemplate]:
    """Every library template, with its stale texts flagged and which of `wanted` languages it lacks."""
    rows = session.exec(
        select(TemplateText)
        .where(TemplateText.clinic_id == clinic.id)
        .order_by(col(TemplateText.name), col(TemplateText.language))
    ).all()
    by_name: dict[str, list[TemplateText]] = {}
    for row in rows:
        by_name.setdefault(row.name, []).append(row)
    source = source_language(clinic)
    return [_entry(name, texts, source, wanted) for name, texts in by_name.items()]


def get_template(*, session: Session, clinic: Clinic, name: str) -> LibraryTemplate:
    """One library template by name, or NotFound."""
    found = [t for t in library(session=session, clinic=clinic, wanted=[]) if t.name == name]
    if not found:
        raise NotFound("library template")
    return found[0]


def _entry(name: str, rows: list[TemplateText], source: str, wanted: list[str]) -> LibraryTemplate:
    origin = next((r for r in rows if r.language == source), None)
    texts = [
        SavedText(
            language=r.language,
            body=r.body,
            updated_at=r.updated_at,
            # Without a source text, nothing can be current against it: every translation waits for one.
            stale=r.language != source and (origin is None or r.updated_at < origin.updated_at),
        )
        for r in sorted(rows, key=lambda r: (r.language != source, r.language))
    ]
    have = {r.language for r in rows}
    return LibraryTemplate(
        name=name, source_language=source, texts=texts, missing=[w for w in wanted if w not in have]
    )
