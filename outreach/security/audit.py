"""The audit trail: who read or changed a patient's data, through the API or the web app, and when.

Every request made with a key (or a signed-in web session) to a route that shows or changes patient
data leaves one `audit_event` row, added to the request's own unit of work and committed with it before
the response is sent: a read or write that could not be audited is not answered (and costs one more
INSERT, not a transaction of its own). Routes naming a thread, text or visit are traced to its patient,
so one patient's trail shows them all. Overrides and releases are recorded by the services that do them.
A request that fails is rolled back, its audit row with it.
The rows are append-only in the database (see migration 0009) and carry no phone number and no body.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select
from starlette.types import Scope

from outreach.db import utcnow
from outreach.inbox.models import Thread
from outreach.messaging.models import OutboundMessage
from outreach.patients.models import Appointment
from outreach.security.models import AuditEvent

# Route families that hold patient data (the web app's under /app too).
_AUDITED = ("/admin/", "/coordinator/", "/app/admin/", "/app/queue", "/app/threads", "/app/simulator")
_OWNERS: dict[str, Any] = {"thread_id": Thread, "message_id": OutboundMessage, "appointment_id": Appointment}


def record(
    *,
    session: Session,
    clinic_id: uuid.UUID,
    key_id: uuid.UUID | None,
    action: str,
    channel: str = "api",
    patient_id: uuid.UUID | None = None,
    object_id: uuid.UUID | None = None,
    status_code: int | None = None,
    reason: str | None = None,
    now: datetime | None = None,
) -> None:
    """Add one audit row (committed with the caller's unit of work)."""
    session.add(
        AuditEvent(
            clinic_id=clinic_id,
            key_id=key_id,
            channel=channel,
            action=action[:120],
            patient_id=patient_id,
            object_id=object_id,
            status_code=status_code,
            reason=reason,
            at=now or utcnow(),
        )
    )


def trail(
    *, session: Session, clinic_id: uuid.UUID, patient_id: uuid.UUID, limit: int, before: datetime | None
) -> list[AuditEvent]:
    """One patient's audit rows, newest first."""
    query = select(AuditEvent).where(AuditEvent.clinic_id == clinic_id, AuditEvent.patient_id == patient_id)
    if before is not None:
        query = query.where(col(AuditEvent.at) < before)
    return list(session.exec(query.order_by(col(AuditEvent.at).desc()).limit(limit)))


def _who(state: dict[str, Any]) -> tuple[uuid.UUID, uuid.UUID | None, str] | None:
    principal = state.get("principal")
    if principal is not None:
        return principal.clinic_id, principal.key_id, "api"
    viewer = state.get("viewer")
    if viewer is not None:
        return viewer.clinic.id, viewer.session.key_id, "web"
    return None


def _subject(session: Session, params: dict[str, Any]) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """(patient, object) a route's path names."""
    patient_id = _uuid(params.get("patient_id"))
    for name, model in _OWNERS.items():
        object_id = _uuid(params.get(name))
        if object_id is not None:
            row = session.get(model, object_id)
            return (patient_id or (row.patient_id if row is not None else None)), object_id
    return patient_id, None


def _uuid(value: object) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value)) if value is not None else None
    except ValueError:
        return None


def record_request(scope: Scope, session: Session) -> None:
    """Add the audit row of an authenticated request to patient data (before the request commits)."""
    path: str = scope.get("path", "")
    if not path.startswith(_AUDITED):
        return
    who = _who(scope.get("state") or {})
    route = scope.get("route")
    if who is None or route is None:
        return
    clinic_id, key_id, channel = who
    patient_id, object_id = _subject(session, dict(scope.get("path_params") or {}))
    record(
        session=session,
        clinic_id=clinic_id,
        key_id=key_id,
        action=f"{scope['method']} {getattr(route, 'path', path)}",
        channel=channel,
        patient_id=patient_id,
        object_id=object_id,
    )
