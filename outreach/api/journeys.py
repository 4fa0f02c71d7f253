"""Routes for care journeys: patients' events and the clinic's enrollment rules (admin), and ending a
patient's journeys from their thread (coordinator)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, UploadFile

from outreach.api.deps import PrincipalDep, SessionDep, require_role
from outreach.api.strict_query import refuse_unknown_query
from outreach.clinics.models import Role
from outreach.db import utcnow
from outreach.journeys import changes, importing, report, service
from outreach.journeys.events import EventRecord, record_patient_events
from outreach.journeys.schemas import (
    JourneyPublic,
    PatientEventCorrection,
    PatientEventIn,
    PatientEventPublic,
    RecordReport,
    RuleIn,
    RulePublic,
)
from outreach.patients import service as patients

router = APIRouter(
    prefix="/admin", tags=["journeys"], dependencies=[require_role(Role.ADMIN), refuse_unknown_query]
)
coordinator_router = APIRouter(
    prefix="/coordinator", tags=["coordinator"], dependencies=[require_role(Role.COORDINATOR)]
)


def _event(event: object) -> PatientEventPublic:
    return PatientEventPublic.model_validate(event, from_attributes=True)


@router.post("/patients/{patient_id}/events", status_code=201, summary="Record a patient's event")
def record_event(
    patient_id: uuid.UUID, data: PatientEventIn, session: SessionDep, principal: PrincipalDep
) -> RecordReport:
    patients.get_patient(session=session, clinic_id=principal.clinic_id, patient_id=patient_id)
    record = EventRecord(
        kind=data.kind, occurred_at=data.occurred_at, patient_id=patient_id,
        location=data.location, visit_type=data.visit_type, source="api",
    )  # fmt: skip
    return record_patient_events(session, principal.clinic_id, [record], now=utcnow())


@router.get("/patients/{patient_id}/events", summary="A patient's recorded events")
def list_events(
    patient_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> list[PatientEventPublic]:
    patients.get_patient(session=session, clinic_id=principal.clinic_id, patient_id=patient_id)
    rows = changes.list_events(session=session, clinic_id=principal.clinic_id, patient_id=patient_id)
    return [_event(e) for e in rows]


@router.patch("/events/{event_id}", summary="Correct an event (a new time re-plans its journeys' texts)")
def correct_event(
    event_id: uuid.UUID, data: PatientEventCorrection, session: SessionDep, principal: PrincipalDep
) -> PatientEventPublic:
    event = changes.correct_event(
        session=session, clinic_id=principal.clinic_id, event_id=event_id, data=data, now=utcnow()
    )
    return _event(event)


@router.delete("/events/{event_id}", status_code=204, summary="Delete an event (ends its journeys)")
def delete_event(event_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> None:
    changes.delete_event(session=session, clinic_id=principal.clinic_id, event_id=event_id, now=utcnow())


@router.post("/events/import", summary="Record events from a CSV or JSON file (by MRN)")
def import_events(file: UploadFile, session: SessionDep, principal: PrincipalDep) -> RecordReport:
    json_file = (file.filename or "").lower().endswith(".json") or file.content_type == "application/json"
    records = importing.parse_events(file.file.read(), json_file=json_file, source="import")
    return record_patient_events(session, principal.clinic_id, records, now=utcnow())


@router.get("/patients/{patient_id}/journeys", summary="A patient's journeys")
def list_journeys(patient_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> list[JourneyPublic]:
    patients.get_patient(session=session, clinic_id=principal.clinic_id, patient_id=patient_id)
    rows = service.list_journeys(session=session, clinic_id=principal.clinic_id, patient_id=patient_id)
    return [JourneyPublic.model_validate(j, from_attributes=True) for j in rows]


@router.post(
    "/journey-rules", status_code=201, summary="Enroll patients automatically when an event is recorded"
)
def create_rule(data: RuleIn, session: SessionDep, principal: PrincipalDep) -> RulePublic:
    rule = service.create_rule(session=session, clinic_id=principal.clinic_id, data=data, now=utcnow())
    return RulePublic.model_validate(rule, from_attributes=True)


@router.get("/journey-rules", summary="The clinic's enrollment rules")
def list_rules(session: SessionDep, principal: PrincipalDep) -> list[RulePublic]:
    rules = service.list_rules(session=session, clinic_id=principal.clinic_id)
    return [RulePublic.model_validate(r, from_attributes=True) for r in rules]


@router.delete("/journey-rules/{rule_id}", status_code=204, summary="Stop a rule enrolling patients")
def delete_rule(rule_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> None:
    service.deactivate_rule(session=session, clinic_id=principal.clinic_id, rule_id=rule_id)


@router.get("/campaigns/{campaign_id}/journeys", summary="A journey campaign's patients by step and outcome")
def journey_summary(
    campaign_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> report.JourneySummary:
    return report.summary(session=session, clinic_id=principal.clinic_id, campaign_id=campaign_id)


@coordinator_router.post("/threads/{thread_id}/end-journeys", summary="End the patient's running journeys")
def end_journeys(thread_id: uuid.UUID, session: SessionDep, user: PrincipalDep) -> dict[str, int]:
    ended = service.end_from_thread(
        session=session, clinic_id=user.clinic_id, thread_id=thread_id, key_id=user.key_id, now=utcnow()
    )
    return {"ended": ended}
