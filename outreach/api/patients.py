"""Clinic admin routes: patients."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from outreach.api.deps import PrincipalDep, SessionDep, require_role
from outreach.clinics.models import Role
from outreach.clinics.service import get_clinic
from outreach.db import utcnow
from outreach.patients import service as patients
from outreach.patients.models import ConsentStatus
from outreach.patients.schemas import PatientCreate, PatientPublic

router = APIRouter(prefix="/admin", tags=["patients"], dependencies=[require_role(Role.ADMIN)])

Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]


@router.post("/patients", status_code=201, summary="Add a patient")
def create_patient(data: PatientCreate, session: SessionDep, principal: PrincipalDep) -> PatientPublic:
    clinic = get_clinic(session=session, clinic_id=principal.clinic_id)
    patient = patients.create_patient(session=session, clinic=clinic, data=data, now=utcnow())
    return PatientPublic.model_validate(patient, from_attributes=True)


@router.get("/patients", summary="List patients")
def list_patients(
    session: SessionDep,
    principal: PrincipalDep,
    language: str | None = None,
    consent: ConsentStatus | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[PatientPublic]:
    rows = patients.list_patients(
        session=session,
        clinic_id=principal.clinic_id,
        language=language,
        consent=consent,
        limit=limit,
        offset=offset,
    )
    return [PatientPublic.model_validate(p, from_attributes=True) for p in rows]


@router.get("/patients/{patient_id}", summary="Get a patient")
def get_patient(patient_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> PatientPublic:
    patient = patients.get_patient(session=session, clinic_id=principal.clinic_id, patient_id=patient_id)
    return PatientPublic.model_validate(patient, from_attributes=True)
