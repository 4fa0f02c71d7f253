"""Creating clinics and reading their settings."""

from __future__ import annotations

import uuid

from sqlmodel import Session

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
