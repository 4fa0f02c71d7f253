"""Set-based upsert of mapped Appointments, and the schedule changes that follow from it.

A visit is found by its FHIR link (clinic, source, id). New, moved, cancelled and reinstated visits go
through the campaigns' change path (`outreach.campaigns.changes`), but only those it can concern: a
visit with unsent texts, or a new one whose patient is in a launched reminder campaign. Everything else
is written in a few statements per batch. A fulfilled visit is also the patient's visit-fulfilled event,
and a visit cancelled after it was fulfilled withdraws that event (`outreach.fhir.store_events`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from outreach.campaigns import changes
from outreach.campaigns.models import Campaign, CampaignKind, CampaignStatus, Enrollment
from outreach.fhir.mapping_appointment import FULFILLED, MappedAppointment
from outreach.fhir.models import FhirLink
from outreach.fhir.schemas import ImportSummary
from outreach.fhir.store_events import FULFILLED_LINK, SourceEvent, record_source_events
from outreach.fhir.store_patients import PATIENT, Link, _link, links, many, write
from outreach.journeys.models import EventKind
from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.patients.models import Appointment, AppointmentStatus

APPOINTMENT = "Appointment"
_PENDING = (MessageStatus.SCHEDULED, MessageStatus.HELD)


def unknown_patient(m: MappedAppointment) -> str:
    """Why an appointment whose patient outreach does not know is rejected."""
    return f"participant: Patient/{m.patient_ref} is not a patient outreach knows for this clinic and source"


def _change(row: dict[str, Any], wanted: dict[str, Any]) -> str | None:
    """How a stored visit changes (cancelled, reinstated, moved, other), or None; may keep `confirmed`."""
    if row["status"] == AppointmentStatus.CONFIRMED and wanted["status"] == AppointmentStatus.BOOKED:
        wanted["status"] = AppointmentStatus.CONFIRMED.value  # the patient's own yes stands
    if all(row[k] == v for k, v in wanted.items()):
        return None
    was_cancelled = row["status"] == AppointmentStatus.CANCELLED
    if wanted["status"] == AppointmentStatus.CANCELLED and not was_cancelled:
        return "cancelled"
    if was_cancelled and wanted["status"] != AppointmentStatus.CANCELLED:
        return "reinstated"  # planned like a new booking
    if (row["starts_at"], row["location"]) != (wanted["starts_at"], wanted["location"]):
        return "moved"
    return "other"


def upsert_appointments(
    *,
    session: Session,
    clinic_id: uuid.UUID,
    source: str,
    batch: list[MappedAppointment],
    now: datetime,
    summary: ImportSummary,
    patient_ids: dict[str, uuid.UUID],
) -> list[MappedAppointment]:
    """Store each mapped appointment; return those whose patient is not known (yet).

    `patient_ids` (FHIR id → patient id) holds the patients this import has stored; the others are
    looked up and added to it.
    """
    missing = [m.patient_ref for m in batch if m.patient_ref not in patient_ids]
    found = links(session, clinic_id=clinic_id, source=source, resource_type=PATIENT, fhir_ids=missing)
    patient_ids.update({fhir_id: link.local_id for fhir_id, link in found.items()})
    known = links(
        session,
        clinic_id=clinic_id,
        source=source,
        resource_type=APPOINTMENT,
        fhir_ids=[m.fhir_id for m in batch],
    )
    fields = (
        col(Appointment.id),
        col(Appointment.patient_id),
        col(Appointment.starts_at),
        col(Appointment.location),
        col(Appointment.status),
    )
    ids = [link.local_id for link in known.values()]
    rows = {
        r["id"]: dict(r)
        for r in session.execute(select(*fields).where(col(Appointment.id).in_(many(ids)))).mappings()
    }
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    new_links: list[dict[str, Any]] = []
    link_updates: list[dict[str, Any]] = []
    created: list[uuid.UUID] = []
    moved: list[uuid.UUID] = []
    cancelled: list[uuid.UUID] = []
    waiting: list[MappedAppointment] = []
    events: list[SourceEvent] = []
    for m in batch:
        patient_id = patient_ids.get(m.patient_ref)
        if patient_id is None:
            waiting.append(m)
            continue
        link = known.get(m.fhir_id)
        if (event := _visit_event(m, link, patient_id)) is not None:
            events.append(event)
        row = rows.get(link.local_id) if link is not None else None
        wanted: dict[str, Any] = {
            "patient_id": patient_id,
            "starts_at": m.starts_at,
            "location": m.location,
            "status": m.status.value,
        }
        if row is None:
            appointment_id = uuid.uuid4()
            inserts.append({**wanted, "id": appointment_id, "clinic_id": clinic_id, "created_at": now})
            if m.status != AppointmentStatus.CANCELLED:
                created.append(appointment_id)
            summary.add(APPOINTMENT, "created")
        else:
            appointment_id = row["id"]
            change = _change(row, wanted)
            if change is not None:
                updates.append({**wanted, "id": appointment_id})
                {"cancelled": cancelled, "reinstated": created, "moved": moved}.get(change, []).append(
                    appointment_id
                )
            status_changed = link is not None and link.fhir_status != m.fhir_status
            summary.add(APPOINTMENT, "updated" if change or status_changed else "unchanged")
        if link is None:
            new_links.append(
                _link(
                    clinic_id,
                    source,
                    APPOINTMENT,
                    m.fhir_id,
                    appointment_id,
                    m.version_id,
                    m.fhir_status,
                    now,
                )
            )
        elif (link.version_id, link.fhir_status) != (m.version_id, m.fhir_status):
            link_updates.append(
                {"id": link.id, "version_id": m.version_id, "fhir_status": m.fhir_status, "updated_at": now}
            )
    write(session, Appointment, inserts, updates)
    write(session, FhirLink, new_links, link_updates)
    session.flush()
    _follow_changes(
        session=session, clinic_id=clinic_id, created=created, moved=moved, cancelled=cancelled, now=now
    )
    if events:
        record_source_events(
            session=session, clinic_id=clinic_id, source=source, batch=events, now=now, summary=summary
        )
    return waiting


def _visit_event(m: MappedAppointment, link: Link | None, patient_id: uuid.UUID) -> SourceEvent | None:
    """The visit-fulfilled event a fulfilled appointment records (or one cancelled since withdraws)."""
    withdrawn = m.status == AppointmentStatus.CANCELLED and link is not None and link.fhir_status == FULFILLED
    if m.fulfilled_at is None and not withdrawn:
        return None
    return SourceEvent(
        link_type=FULFILLED_LINK,
        fhir_id=m.fhir_id,
        version_id=m.version_id,
        fhir_status=m.fhir_status,
        patient_id=patient_id,
        kind=EventKind.VISIT_FULFILLED,
        occurred_at=m.fulfilled_at,
        location=m.location or None,
        visit_type=m.visit_type,
    )


def _with_pending(session: Session, ids: list[uuid.UUID]) -> list[uuid.UUID]:
    if not ids:
        return []
    query = select(col(OutboundMessage.appointment_id)).where(
        col(OutboundMessage.appointment_id).in_(many(ids)), col(OutboundMessage.status).in_(_PENDING)
    )
    return sorted({i for i in session.scalars(query.distinct()) if i is not None})


def _in_live_reminders(session: Session, clinic_id: uuid.UUID, ids: list[uuid.UUID]) -> list[uuid.UUID]:
    if not ids:
        return []
    live = (
        select(col(Enrollment.patient_id))
        .join(Campaign, col(Campaign.id) == Enrollment.campaign_id)
        .where(
            col(Campaign.clinic_id) == clinic_id,
            col(Campaign.kind) == CampaignKind.REMINDER,
            col(Campaign.status).in_([CampaignStatus.LAUNCHED, CampaignStatus.PAUSED]),
        )
    )
    if session.scalar(live.limit(1)) is None:  # no patient in a live reminder campaign: nothing to ask
        return []
    query = select(col(Appointment.id)).where(
        col(Appointment.id).in_(many(ids)), col(Appointment.patient_id).in_(live)
    )
    return list(session.scalars(query))


def _follow_changes(
    *,
    session: Session,
    clinic_id: uuid.UUID,
    created: list[uuid.UUID],
    moved: list[uuid.UUID],
    cancelled: list[uuid.UUID],
    now: datetime,
) -> None:
    """The campaigns' change path for the visits it concerns."""
    for appointment_id in _with_pending(session, cancelled):
        changes.cancel_for_appointment(session=session, appointment_id=appointment_id, now=now)
    for appointment_id in _with_pending(session, moved):
        changes.replan_appointment(
            session=session, appointment=session.get_one(Appointment, appointment_id), now=now
        )
    for appointment_id in _in_live_reminders(session, clinic_id, created):
        changes.plan_new_appointment(
            session=session, appointment=session.get_one(Appointment, appointment_id), now=now
        )
