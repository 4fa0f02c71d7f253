"""The one clinic-scoped lookup: every object a caller names by id is found through here.

Another clinic's object is indistinguishable from none (the same `NotFound`, the same 404), so a new route
or page that uses these functions cannot leak tenancy by forgetting a check.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlmodel import Session, SQLModel, col
from sqlmodel.sql.expression import SelectOfScalar

from outreach.errors import NotFound

T = TypeVar("T", bound=SQLModel)


def find_owned(session: Session, model: type[T], object_id: uuid.UUID, *, clinic_id: uuid.UUID) -> T | None:
    """The clinic's object with this id, or None (also when it belongs to another clinic)."""
    found = session.get(model, object_id)
    if found is None or getattr(found, "clinic_id", None) != clinic_id:
        return None
    return found


def get_owned(
    session: Session, model: type[T], object_id: uuid.UUID, *, clinic_id: uuid.UUID, name: str
) -> T:
    """The clinic's object with this id, or `NotFound(name)` (another clinic's object is not found)."""
    found = find_owned(session, model, object_id, clinic_id=clinic_id)
    if found is None:
        raise NotFound(name)
    return found


def owned(query: SelectOfScalar[T], model: type[Any], *, clinic_id: uuid.UUID) -> SelectOfScalar[T]:
    """A query narrowed to the clinic's rows of `model` (for lookups that also lock or filter)."""
    return query.where(col(model.clinic_id) == clinic_id)
