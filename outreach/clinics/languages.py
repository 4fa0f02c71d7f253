"""A clinic's language settings: whether built-in texts go out only in reviewed translations."""

from __future__ import annotations

import uuid

from sqlmodel import Session

from outreach.clinics.service import get_clinic


def require_reviewed(*, session: Session, clinic_id: uuid.UUID) -> bool:
    """Whether the clinic sends built-in texts only in translations a native speaker reviewed."""
    return get_clinic(session=session, clinic_id=clinic_id).require_reviewed_translations


def set_require_reviewed(*, session: Session, clinic_id: uuid.UUID, required: bool) -> bool:
    """Turn the reviewed-translations rule on or off for new launches; return the new value."""
    clinic = get_clinic(session=session, clinic_id=clinic_id)
    clinic.require_reviewed_translations = required
    session.add(clinic)
    session.flush()
    return required
