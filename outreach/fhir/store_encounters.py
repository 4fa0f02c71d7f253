"""Mapped Encounters stored as patients' discharge events (`outreach.fhir.store_events`).

An Encounter's patient is found as an Appointment's is: among the patients this import stored, else by
the Patient's FHIR link at the same source in the same clinic; one not known (yet) waits for the end of
the import and is then rejected.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session

from outreach.fhir.mapping_encounter import MappedEncounter
from outreach.fhir.schemas import ImportSummary
from outreach.fhir.store_events import SourceEvent, record_source_events
from outreach.fhir.store_patients import PATIENT, links
from outreach.journeys.models import EventKind

ENCOUNTER = "Encounter"


def unknown_subject(m: MappedEncounter) -> str:
    """Why an Encounter whose patient outreach does not know is rejected."""
    return f"subject: Patient/{m.patient_ref} is not a patient outreach knows for this clinic and source"


def upsert_encounters(
    *,
    session: Session,
    clinic_id: uuid.UUID,
    source: str,
    batch: list[MappedEncounter],
    now: datetime,
    summary: ImportSummary,
    patient_ids: dict[str, uuid.UUID],
) -> list[MappedEncounter]:
    """Record each mapped Encounter's discharge; return those whose patient is not known (yet)."""
    missing = [m.patient_ref for m in batch if m.patient_ref not in patient_ids]
    found = links(session, clinic_id=clinic_id, source=source, resource_type=PATIENT, fhir_ids=missing)
    patient_ids.update({fhir_id: link.local_id for fhir_id, link in found.items()})
    waiting = [m for m in batch if m.patient_ref not in patient_ids]
    events = [
        SourceEvent(
            link_type=ENCOUNTER,
            fhir_id=m.fhir_id,
            version_id=m.version_id,
            fhir_status=m.fhir_status,
            patient_id=patient_ids[m.patient_ref],
            kind=EventKind.DISCHARGED,
            occurred_at=m.discharged_at,
            location=m.location,
            visit_type=m.visit_type,
        )
        for m in batch
        if m.patient_ref in patient_ids
    ]
    if events:
        outcomes = record_source_events(
            session=session, clinic_id=clinic_id, source=source, batch=events, now=now, summary=summary
        )
        for fhir_id, result in outcomes.items():
            summary.add(ENCOUNTER, result.outcome, fhir_id=fhir_id, reason=result.reason)
    return waiting
