"""Finding a patient the way a front desk does: by name, by the clinic's id (MRN), or by the last digits
of a phone number ("the one ending 0107").

Phone numbers are stored encrypted; only their last four digits are kept in the clear (`phone_last4`),
so the phone match goes through `phone_digits_match` alone: three digits match the numbers ending with
them, four or more match on their last four ("555-0307" finds the numbers ending 0307).
"""

from __future__ import annotations

import re
import uuid

from sqlalchemy import ColumnElement, and_, func, or_
from sqlmodel import Session, col, select

from outreach.patients.models import ConsentStatus, Patient

MIN_PHONE_DIGITS = 3  # fewer digits than this match too many numbers to be a search
_NOT_DIGITS = re.compile(r"[\s().+-]")


def phone_digits(query: str) -> str | None:
    """The digits of a query typed as (part of) a phone number, or None when it is not one."""
    digits = _NOT_DIGITS.sub("", query)
    return digits if digits.isdigit() and len(digits) >= MIN_PHONE_DIGITS else None


def phone_digits_match(digits: str) -> ColumnElement[bool]:
    """Patients whose phone number ends with these digits (with the last four of them, for longer ones)."""
    if len(digits) >= 4:
        return col(Patient.phone_last4) == digits[-4:]
    return col(Patient.phone_last4).endswith(digits, autoescape=True)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_patients(
    *,
    session: Session,
    clinic_id: uuid.UUID,
    query: str,
    limit: int,
    offset: int,
    language: str | None = None,
    consent: ConsentStatus | None = None,
) -> list[Patient]:
    """The clinic's patients matching a name, MRN or the last digits of a phone, MRN order."""
    text = query.strip()
    if not text:
        return []
    conditions: list[ColumnElement[bool]] = [func.lower(col(Patient.external_id)) == text.lower()]
    digits = phone_digits(text)
    if digits is not None:
        conditions.append(phone_digits_match(digits))
    words = text.lower().split()
    # Every word must be in the given or the family name ("maria gon" finds Maria Gonzalez).
    name = [
        or_(
            func.lower(col(Patient.given_name)).like(_like(word), escape="\\"),
            func.lower(col(Patient.family_name)).like(_like(word), escape="\\"),
        )
        for word in words
    ]
    conditions.append(and_(*name))
    conditions.append(func.lower(col(Patient.external_id)).like(_like(text.lower()), escape="\\"))
    statement = select(Patient).where(Patient.clinic_id == clinic_id, or_(*conditions))
    if language:
        statement = statement.where(Patient.language == language)
    if consent:
        statement = statement.where(Patient.consent == consent)
    statement = statement.order_by(col(Patient.external_id)).offset(offset).limit(limit)
    return list(session.exec(statement))
