"""Clinic admin routes: patients, their consent ledger, their appointments, and bulk import."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, UploadFile
from sqlmodel import Session

from outreach.api.deps import PrincipalDep, SessionDep, require_role
from outreach.api.paging import Offset
from outreach.api.strict_query import refuse_unknown_query
from outreach.clinics.models import Role
from outreach.clinics.service import get_clinic
from outreach.db import utcnow
from outreach.patients import importing
from outreach.patients import service as patients
from outreach.patients.models import ConsentStatus, Patient
from outreach.patients.schemas import (
    AppointmentCreate,
    AppointmentPublic,
    AppointmentUpdate,
    ConsentEventPublic,
    ConsentIn,
    ConsentPublic,
    ImportReport,
    PatientCreate,
    PatientImport,
    PatientPublic,
    PatientUpdate,
)

router = APIRouter(
    prefix="/admin", tags=["patients"], dependencies=[require_role(Role.ADMIN), refuse_unknown_query]
)

Limit = Annotated[int, Query(ge=1, le=500)]


def _publics(session: Session, rows: list[Patient]) -> list[PatientPublic]:
    """Patients with their current consent in the same shape a POST gives it."""
    events = patients.current_consents(session=session, patient_ids=[p.id for p in rows])
    out = []
    for p in rows:
        event = events.get(p.id)
        consent = ConsentPublic(
            status=p.consent,
            source=event.source if event else None,
            recorded_at=event.recorded_at if event else None,
        )
        fields = {k: getattr(p, k) for k in PatientPublic.model_fields if k != "consent"}
        out.append(PatientPublic(**fields, consent=consent))
    return out


def _public(session: Session, patient: Patient) -> PatientPublic:
    return _publics(session, [patient])[0]


@router.post("/patients", status_code=201, summary="Add a patient")
def create_patient(data: PatientCreate, session: SessionDep, principal: PrincipalDep) -> PatientPublic:
    clinic = get_clinic(session=session, clinic_id=principal.clinic_id)
    return _public(session, patients.create_patient(session=session, clinic=clinic, data=data, now=utcnow()))


@router.get("/patients", summary="List patients")
def list_patients(
    session: SessionDep,
    principal: PrincipalDep,
    language: str | None = None,
    consent: ConsentStatus | None = None,
    has_upcoming_appointment: bool = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[PatientPublic]:
    if has_upcoming_appointment:
        rows = patients.list_patients_upcoming(
            session=session, clinic_id=principal.clinic_id, now=utcnow(), limit=limit, offset=offset
        )
    else:
        rows = patients.list_patients(
            session=session,
            clinic_id=principal.clinic_id,
            language=language,
            consent=consent,
            limit=limit,
            offset=offset,
        )
    return _publics(session, rows)


@router.get("/patients/{patient_id}", summary="Get a patient")
def get_patient(patient_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> PatientPublic:
    return _public(
        session, patients.get_patient(session=session, clinic_id=principal.clinic_id, patient_id=patient_id)
    )


@router.patch("/patients/{patient_id}", summary="Change a patient")
def update_patient(
    patient_id: uuid.UUID, data: PatientUpdate, session: SessionDep, principal: PrincipalDep
) -> PatientPublic:
    clinic = get_clinic(session=session, clinic_id=principal.clinic_id)
    patient = patients.update_patient(
        session=session, clinic=clinic, patient_id=patient_id, data=data, now=utcnow()
    )
    return _public(session, patient)


@router.post("/patients/{patient_id}/consent", summary="Record a consent decision (revoking cancels texts)")
def change_consent(
    patient_id: uuid.UUID, data: ConsentIn, session: SessionDep, principal: PrincipalDep
) -> PatientPublic:
    patient = patients.change_consent(
        session=session,
        clinic_id=principal.clinic_id,
        patient_id=patient_id,
        status=data.status,
        source=data.source,
        now=utcnow(),
    )
    return _public(session, patient)


@router.get("/patients/{patient_id}/consent", summary="A patient's consent ledger")
def consent_history(
    patient_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> list[ConsentEventPublic]:
    events = patients.consent_history(session=session, clinic_id=principal.clinic_id, patient_id=patient_id)
    return [ConsentEventPublic.model_validate(e, from_attributes=True) for e in events]


@router.post("/patients/{patient_id}/appointments", status_code=201, summary="Book an appointment")
def create_appointment(
    patient_id: uuid.UUID, data: AppointmentCreate, session: SessionDep, principal: PrincipalDep
) -> AppointmentPublic:
    appointment = patients.create_appointment(
        session=session,
        clinic_id=principal.clinic_id,
        patient_id=patient_id,
        starts_at=data.starts_at,
        location=data.location,
        now=utcnow(),
    )
    return AppointmentPublic.model_validate(appointment, from_attributes=True)


@router.get("/patients/{patient_id}/appointments", summary="A patient's appointments")
def list_appointments(
    patient_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> list[AppointmentPublic]:
    rows = patients.list_appointments(session=session, clinic_id=principal.clinic_id, patient_id=patient_id)
    return [AppointmentPublic.model_validate(a, from_attributes=True) for a in rows]


@router.patch("/appointments/{appointment_id}", summary="Reschedule an appointment (reminders follow)")
def reschedule_appointment(
    appointment_id: uuid.UUID, data: AppointmentUpdate, session: SessionDep, principal: PrincipalDep
) -> AppointmentPublic:
    appointment = patients.reschedule_appointment(
        session=session,
        clinic_id=principal.clinic_id,
        appointment_id=appointment_id,
        starts_at=data.starts_at,
        location=data.location,
        now=utcnow(),
    )
    return AppointmentPublic.model_validate(appointment, from_attributes=True)


@router.post("/appointments/{appointment_id}/cancel", summary="Cancel an appointment and its reminders")
def cancel_appointment(
    appointment_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> AppointmentPublic:
    appointment = patients.cancel_appointment(
        session=session, clinic_id=principal.clinic_id, appointment_id=appointment_id, now=utcnow()
    )
    return AppointmentPublic.model_validate(appointment, from_attributes=True)


@router.post("/patients/import", summary="Import patients from JSON (upsert on external_id)")
def import_json(data: PatientImport, session: SessionDep, principal: PrincipalDep) -> ImportReport:
    clinic = get_clinic(session=session, clinic_id=principal.clinic_id)
    records = list(enumerate(data.patients, start=1))
    return importing.import_records(session=session, clinic=clinic, records=records, now=utcnow())


@router.post("/patients/import.csv", summary="Import patients from a CSV upload (upsert on external_id)")
def import_csv(file: UploadFile, session: SessionDep, principal: PrincipalDep) -> ImportReport:
    records = importing.parse_upload(file.file.read(), json_file=False)
    clinic = get_clinic(session=session, clinic_id=principal.clinic_id)
    return importing.import_records(session=session, clinic=clinic, records=records, now=utcnow())
