"""Creating clinics and reading their settings."""

from __future__ import annotations

import uuid
from datetime import time

from sqlmodel import Session

from outreach import i18n
from outreach.clinics.hours import check_hours
from outreach.clinics.models import Clinic
from outreach.errors import Invalid, NotFound
from outreach.patients.validation import FieldError, validate_region, validate_timezone


def create_clinic(
    *,
    session: Session,
    name: str,
    phone: str = "",
    timezone: str = "America/New_York",
    default_language: str = "en",
    default_region: str = "US",
) -> Clinic:
    """Add a clinic with valid time zone and phone region."""
    if not name.strip():
        raise Invalid("name", "must not be empty")
    try:
        timezone = validate_timezone(timezone)
        default_region = validate_region(default_region)
    except FieldError as exc:
        raise Invalid(exc.field, exc.reason) from exc
    clinic = Clinic(
        name=name.strip(),
        phone=phone,
        timezone=timezone,
        default_language=default_language,
        default_region=default_region,
    )
    session.add(clinic)
    session.flush()
    return clinic


def get_clinic(*, session: Session, clinic_id: uuid.UUID) -> Clinic:
    """A clinic by id."""
    clinic = session.get(Clinic, clinic_id)
    if clinic is None:
        raise NotFound("clinic")
    return clinic


def set_staffed_hours(
    *, session: Session, clinic_id: uuid.UUID, start: time | None, end: time | None, days: str
) -> Clinic:
    """When the care team answers texts (in the clinic's zone); no hours: no promise of a time."""
    clinic = get_clinic(session=session, clinic_id=clinic_id)
    clinic.staffed_days = check_hours(start=start, end=end, days=days)
    clinic.staffed_start, clinic.staffed_end = start, end
    session.add(clinic)
    session.flush()
    return clinic


def set_program_names(*, session: Session, clinic_id: uuid.UUID, names: dict[str, str]) -> Clinic:
    """The program name per catalog language for the HELP answer (an empty name removes the language's)."""
    clinic = get_clinic(session=session, clinic_id=clinic_id)
    kept: dict[str, str] = {}
    for language, name in names.items():
        if language not in i18n.SUPPORTED:
            raise Invalid(
                f"program_names.{language}", f"'{language}' is not one of {', '.join(i18n.SUPPORTED)}"
            )
        if len(name.strip()) > 80:
            raise Invalid(f"program_names.{language}", f"is {len(name.strip())} characters; the limit is 80")
        if name.strip():
            kept[language] = name.strip()
    clinic.program_names = kept
    session.add(clinic)
    session.flush()
    return clinic
