"""How patients and texts fall into the report's groups: SQL expressions the database groups by.

Language tags are mapped to languages in Python once per report (a clinic has a few dozen distinct
tags) and handed to the database as a CASE over the tag, so the grouping itself stays in SQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Any

from sqlalchemy import ColumnElement, String, case, cast, func, literal, union_all
from sqlalchemy.sql import Subquery
from sqlmodel import Session, col, select

from outreach import i18n
from outreach.clinics.models import Clinic
from outreach.inbox.models import CoordinatorProfile
from outreach.messaging.models import OutboundMessage
from outreach.patients.attributes import ETHNICITY_CODES, RACE_CODES, SEX_CODES
from outreach.patients.models import Patient

NOT_RECORDED = "not_recorded"
NO_TEXT = "no_text"
PER_TEXT = frozenset({"language_used", "fallback"})
AGE_BANDS = ((18, "0-17"), (45, "18-44"), (65, "45-64"))
OLDEST_BAND = "65+"


def own_catalog(tag: str) -> str | None:
    """The catalog of the tag's own language (es-MX → es, zh-TW → zh-Hant, fil → tl), or None."""
    found = i18n.negotiate(tag) if i18n.is_valid_tag(tag) else None
    return found.language if found is not None and not found.fell_back else None


def language_of(tag: str) -> str:
    """A tag as a language: its catalog, else its primary subtag (hmn-US → hmn)."""
    return own_catalog(tag) or tag.replace("_", "-").split("-")[0].lower()


@dataclass(frozen=True)
class Languages:
    """A clinic's patient tags mapped to languages, and the languages its coordinators read."""

    tags: dict[str, str]
    read: frozenset[str]

    def language(self) -> ColumnElement[Any]:
        """The patient's language (as a language) for each patient row."""
        if not self.tags:
            return func.lower(col(Patient.language))
        return case(self.tags, value=col(Patient.language), else_=func.lower(col(Patient.language)))

    @cached_property
    def catalogs(self) -> Subquery:
        """(tag, catalog) for every patient tag: a small table to join, not a CASE per text."""
        pairs = [(tag, own_catalog(tag) or "") for tag in self.tags] or [("", "")]
        rows = [
            select(literal(tag).label("tag"), literal(catalog).label("catalog")) for tag, catalog in pairs
        ]
        return union_all(*rows).subquery("catalogs") if len(rows) > 1 else rows[0].subquery("catalogs")

    def own_catalog(self) -> ColumnElement[Any]:
        """The catalog of the patient's own language, or '' (the query joins `catalogs` on the tag)."""
        return func.coalesce(self.catalogs.c.catalog, "")

    def interpreter(self) -> ColumnElement[Any]:
        """Recorded interpreter need; else needed when no coordinator reads the patient's language."""
        readable = [tag for tag, language in self.tags.items() if language in self.read]
        derived = case((col(Patient.language).in_(readable), "not_needed"), else_="needed")
        return case(
            (col(Patient.interpreter_needed).is_(True), "needed"),
            (col(Patient.interpreter_needed).is_(False), "not_needed"),
            else_=derived,
        )


def clinic_languages(*, session: Session, clinic: Clinic) -> Languages:
    """Every patient tag of the clinic mapped to a language; coordinators' languages (else the default)."""
    tags = session.exec(select(Patient.language).where(Patient.clinic_id == clinic.id).distinct()).all()
    profiles = session.exec(
        select(CoordinatorProfile.languages).where(CoordinatorProfile.clinic_id == clinic.id)
    ).all()
    read = {language_of(t) for row in profiles for t in str(row).split(",") if t.strip()}
    if not read:
        read = {i18n.negotiate(clinic.default_language).language}
    return Languages(tags={str(t): language_of(str(t)) for t in tags}, read=frozenset(read))


def _age_band(today: date) -> ColumnElement[Any]:
    """The band of the age a patient reaches in the report's year (its year minus the birth year): the
    birth year is all the database keeps in the clear (outreach/patients/attributes.py)."""
    born = col(Patient.birth_year)
    whens: list[tuple[ColumnElement[bool], str]] = [(born.is_(None), NOT_RECORDED)]
    whens += [(born > today.year - years, band) for years, band in AGE_BANDS]
    return case(*whens, else_=OLDEST_BAND)


def _race() -> ColumnElement[Any]:
    race = col(Patient.race)
    return case((race.is_(None), NOT_RECORDED), (race.like("%,%"), "multiple"), else_=race)


def _fallback(languages: Languages) -> ColumnElement[Any]:
    return case((col(OutboundMessage.language) == languages.own_catalog(), "native"), else_="fallback")


_KEYS: dict[str, Callable[[Languages, date], ColumnElement[Any]]] = {
    "language": lambda languages, _: languages.language(),
    "language_used": lambda _, __: func.coalesce(col(OutboundMessage.language), NO_TEXT),
    "fallback": lambda languages, _: _fallback(languages),
    "interpreter": lambda languages, _: languages.interpreter(),
    "age_band": lambda _, today: _age_band(today),
    "sex": lambda _, __: func.coalesce(col(Patient.sex), NOT_RECORDED),
    "race": lambda _, __: _race(),
    "ethnicity": lambda _, __: func.coalesce(col(Patient.ethnicity), NOT_RECORDED),
    "postal3": lambda _, __: func.coalesce(col(Patient.postal3), NOT_RECORDED),
}


def key_expression(by: str, *, languages: Languages, today: date) -> ColumnElement[Any]:
    """The SQL expression whose value is the group of a (patient, text) row."""
    return _KEYS[by](languages, today)


def label(by: str, key: str) -> str:
    """A group's name as a person reads it."""
    # Here: importing outreach.web at the top would import the web app, which imports this module.
    from outreach.web.display import language_name  # noqa: PLC0415

    if key == NOT_RECORDED:
        return "Not recorded"
    if key == NO_TEXT:
        return "No text planned"
    if by in ("language", "language_used"):
        return language_name(key)
    fixed = {
        "fallback": {"native": "Patient's own language", "fallback": "Fallback language"},
        "interpreter": {"needed": "Interpreter needed", "not_needed": "No interpreter needed"},
        "sex": SEX_CODES,
        "race": {**RACE_CODES, "multiple": "More than one race"},
        "ethnicity": ETHNICITY_CODES,
    }
    if by == "postal3":
        return f"ZIP {key}xx"
    return fixed.get(by, {}).get(key, key)


def as_text(expression: ColumnElement[Any]) -> ColumnElement[Any]:
    """A group key as text on every backend."""
    return cast(expression, String())


def clinic_of(session: Session, clinic_id: uuid.UUID) -> Clinic:
    """The clinic row."""
    return session.get_one(Clinic, clinic_id)
