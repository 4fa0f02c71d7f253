"""Write-back to the EHR (off unless a clinic turns it on): confirmed visits and cancel requests.

A pipeline: it talks to the clinic's server between transactions. Each write is a `fhir_writeback` row
first (the audit trail: what, when, how many attempts, the outcome), then the call, then the outcome.
- A visit the patient confirmed by text: the Appointment is read, its Patient participant set to
  `accepted`, and PUT back with If-Match on the version read. A version conflict (412/409) is read again
  and tried once more on the fresh version, never written over blindly.
- A cancel request by text: a FHIR Task (status requested, intent order, focus the Appointment) asks
  the front desk to cancel; outreach itself never cancels a visit in the EHR.
A failed write stays `failed` with its error and is tried again on the next run, up to MAX_ATTEMPTS, then
`given_up`, still listed for the admin.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import and_, insert, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from outreach.db import new_id, session_scope, utcnow
from outreach.fhir import connections
from outreach.fhir.client import FhirClient, FhirError
from outreach.fhir.models import FhirLink, FhirWriteback, WritebackKind
from outreach.fhir.sync import client_for
from outreach.inbox.models import InboundKind, InboundMessage
from outreach.messaging.models import OutboundMessage
from outreach.patients.models import Appointment, AppointmentStatus

MAX_ATTEMPTS = 5
_CONFLICT = (409, 412)


def queue(*, session: Session, clinic_id: uuid.UUID, now: datetime) -> int:
    """Queue a write-back for each confirmed visit and cancel request not yet written; return how many."""
    link = and_(col(FhirLink.local_id) == Appointment.id, col(FhirLink.resource_type) == "Appointment")
    done = select(col(FhirWriteback.appointment_id)).where(col(FhirWriteback.kind) == WritebackKind.CONFIRM)
    confirmed = (
        select(col(Appointment.id))
        .join(FhirLink, link)
        .where(
            col(Appointment.clinic_id) == clinic_id,
            col(Appointment.status) == AppointmentStatus.CONFIRMED,
            col(Appointment.id).not_in(done),
        )
    )
    asked = select(col(FhirWriteback.appointment_id)).where(
        col(FhirWriteback.kind) == WritebackKind.CANCEL_TASK
    )
    cancel = (
        select(col(OutboundMessage.appointment_id))
        .join(InboundMessage, col(InboundMessage.in_reply_to_id) == OutboundMessage.id)
        .join(Appointment, col(Appointment.id) == OutboundMessage.appointment_id)
        .join(FhirLink, link)
        .where(
            col(InboundMessage.clinic_id) == clinic_id,
            col(InboundMessage.kind) == InboundKind.CANCEL_REQUEST,
            col(OutboundMessage.appointment_id).not_in(asked),
        )
        .distinct()
    )
    rows = [(i, WritebackKind.CONFIRM) for i in session.scalars(confirmed)]
    rows += [(i, WritebackKind.CANCEL_TASK) for i in session.scalars(cancel) if i is not None]
    if rows:
        session.execute(
            insert(FhirWriteback.__table__),  # type: ignore[attr-defined]
            [
                {
                    "id": new_id(),
                    "clinic_id": clinic_id,
                    "appointment_id": appointment_id,
                    "kind": kind.value,
                    "status": "pending",
                    "attempts": 0,
                    "created_at": now,
                    "updated_at": now,
                }
                for appointment_id, kind in rows
            ],
        )
    return len(rows)


def _fhir_ids(session: Session, appointment_id: uuid.UUID) -> tuple[str, str | None]:
    """(Appointment FHIR id, Patient FHIR id) of a visit."""
    visit = session.scalars(
        select(FhirLink).where(
            col(FhirLink.local_id) == appointment_id, col(FhirLink.resource_type) == "Appointment"
        )
    ).one()
    patient_id = session.scalar(
        select(col(Appointment.patient_id)).where(col(Appointment.id) == appointment_id)
    )
    person = session.scalars(
        select(col(FhirLink.fhir_id)).where(
            col(FhirLink.local_id) == patient_id,
            col(FhirLink.resource_type) == "Patient",
            col(FhirLink.source) == visit.source,
        )
    ).first()
    return visit.fhir_id, person


def accept(resource: dict[str, Any], patient_fhir_id: str | None) -> bool:
    """Mark the Patient participant accepted; False when it already was (nothing to write)."""
    changed = False
    for participant in resource.get("participant") or []:
        reference = str((participant.get("actor") or {}).get("reference") or "")
        is_patient = reference.split("/")[-2:-1] == ["Patient"]
        ours = patient_fhir_id is None or reference.endswith(f"Patient/{patient_fhir_id}")
        if is_patient and ours and participant.get("status") != "accepted":
            participant["status"] = "accepted"
            changed = True
    return changed


def confirm(client: FhirClient, appointment_fhir_id: str, patient_fhir_id: str | None) -> str:
    """PUT the Appointment with the patient accepted, If-Match on its version; one retry on a conflict."""
    for attempt in range(2):
        read = client.read("Appointment", appointment_fhir_id)
        if not accept(read.resource, patient_fhir_id):
            return f"Appointment/{appointment_fhir_id} (already accepted)"
        response = client.update(read.resource, etag=read.etag)
        if response.status_code in (200, 201):
            version = (response.json().get("meta") or {}).get("versionId", "")
            return f"Appointment/{appointment_fhir_id}/_history/{version}"
        if response.status_code not in _CONFLICT or attempt == 1:
            raise FhirError(f"update Appointment answered {response.status_code}", response.status_code)
    raise AssertionError("unreachable")


def cancel_task(
    client: FhirClient, appointment_fhir_id: str, patient_fhir_id: str | None, now: datetime
) -> str:
    """Create a Task asking the front desk to cancel the visit; return its reference."""
    task: dict[str, Any] = {
        "resourceType": "Task",
        "status": "requested",
        "intent": "order",
        "priority": "routine",
        "code": {"text": "Cancel appointment"},
        "description": "The patient asked by text message to cancel this appointment.",
        "focus": {"reference": f"Appointment/{appointment_fhir_id}"},
        "authoredOn": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if patient_fhir_id:
        task["for"] = {"reference": f"Patient/{patient_fhir_id}"}
    response = client.create(task)
    if response.status_code not in (200, 201):
        raise FhirError(f"create Task answered {response.status_code}", response.status_code)
    created = response.json() if response.content else {}
    return f"Task/{created.get('id', '')}" if created.get("id") else response.headers.get("Location", "Task")


def run(*, engine: Engine, clinic_id: uuid.UUID, http: httpx.Client) -> dict[str, int]:
    """Queue and attempt the clinic's write-backs (when it has them on); return counts by outcome."""
    outcomes = {"done": 0, "failed": 0}
    with session_scope(engine) as session:
        connection = connections.find(session=session, clinic_id=clinic_id)
        if connection is None or not connection.writeback_enabled:
            return outcomes
        queue(session=session, clinic_id=clinic_id, now=utcnow())
        due = list(
            session.scalars(
                select(col(FhirWriteback.id)).where(
                    col(FhirWriteback.clinic_id) == clinic_id,
                    col(FhirWriteback.status).in_(["pending", "failed"]),
                )
            )
        )
    client = client_for(connection, http)
    for writeback_id in due:
        outcomes["done" if _attempt(engine, client, writeback_id) else "failed"] += 1
    return outcomes


def _attempt(engine: Engine, client: FhirClient, writeback_id: uuid.UUID) -> bool:
    with session_scope(engine) as session:
        row = session.get_one(FhirWriteback, writeback_id)
        appointment_fhir_id, patient_fhir_id = _fhir_ids(session, row.appointment_id)
        kind = row.kind
    error: str | None = None
    result: str | None = None
    try:
        if kind == WritebackKind.CONFIRM:
            result = confirm(client, appointment_fhir_id, patient_fhir_id)
        else:
            result = cancel_task(client, appointment_fhir_id, patient_fhir_id, utcnow())
    except FhirError as exc:
        error = str(exc)
    with session_scope(engine) as session:
        row = session.get_one(FhirWriteback, writeback_id)
        row.attempts += 1
        row.updated_at = utcnow()
        row.last_error, row.result_ref = error, result
        row.status = "done" if error is None else "given_up" if row.attempts >= MAX_ATTEMPTS else "failed"
        session.add(row)
    return error is None
