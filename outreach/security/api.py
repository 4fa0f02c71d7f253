"""Clinic-admin routes of the security controls: a patient's audit trail, the clinic's limits, its PHI
terms, and the texts held by the daily spend cap."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import col, select

from outreach.api.deps import PrincipalDep, SessionDep, require_role
from outreach.api.strict_query import refuse_unknown_query
from outreach.clinics.models import Role
from outreach.clinics.service import get_clinic
from outreach.db import utcnow
from outreach.errors import Conflict
from outreach.patients.service import get_patient
from outreach.security import audit, spend
from outreach.security.models import ClinicPolicy, PhiTerm
from outreach.security.policy import policy_for
from outreach.security.schemas import (
    AuditEventPublic,
    PhiTermIn,
    PhiTermPublic,
    PolicyPublic,
    PolicyUpdate,
    ReleaseIn,
    ReleaseOut,
    SpendToday,
)

router = APIRouter(
    prefix="/admin", tags=["security"], dependencies=[require_role(Role.ADMIN), refuse_unknown_query]
)


@router.get("/patients/{patient_id}/audit", summary="Who read or changed this patient's data, newest first")
def patient_audit(
    patient_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: datetime | None = None,
) -> list[AuditEventPublic]:
    get_patient(session=session, clinic_id=principal.clinic_id, patient_id=patient_id)
    rows = audit.trail(
        session=session, clinic_id=principal.clinic_id, patient_id=patient_id, limit=limit, before=before
    )
    return [AuditEventPublic.model_validate(r, from_attributes=True) for r in rows]


@router.get("/security/policy", summary="The clinic's segment cap, daily spend cap and retention")
def get_policy(session: SessionDep, principal: PrincipalDep) -> PolicyPublic:
    found = policy_for(session=session, clinic_id=principal.clinic_id)
    return PolicyPublic(
        max_segments=found.max_segments,
        daily_segment_cap=found.daily_segment_cap,
        retention_days=found.retention_days,
    )


@router.patch("/security/policy", summary="Change the clinic's limits (null returns one to the default)")
def update_policy(data: PolicyUpdate, session: SessionDep, principal: PrincipalDep) -> PolicyPublic:
    row = session.get(ClinicPolicy, principal.clinic_id) or ClinicPolicy(clinic_id=principal.clinic_id)
    for name, value in data.model_dump(exclude_unset=True).items():
        setattr(row, name, value)
    row.updated_at = utcnow()
    session.add(row)
    audit.record(
        session=session,
        clinic_id=principal.clinic_id,
        key_id=principal.key_id,
        action="policy_change",
        reason=str(data.model_dump(exclude_unset=True)),
    )
    session.flush()
    return get_policy(session, principal)


@router.get("/security/spend", summary="Today's segments against the daily cap, and the texts held for it")
def spend_today(session: SessionDep, principal: PrincipalDep) -> SpendToday:
    clinic = get_clinic(session=session, clinic_id=principal.clinic_id)
    return SpendToday.model_validate(spend.today(session=session, clinic=clinic, now=utcnow()))


@router.post("/security/spend/release", summary="Send the texts held by the daily cap after all (audited)")
def release(data: ReleaseIn, session: SessionDep, principal: PrincipalDep) -> ReleaseOut:
    clinic = get_clinic(session=session, clinic_id=principal.clinic_id)
    texts, segments = spend.release_held(session=session, clinic=clinic, now=utcnow())
    if texts == 0:
        raise Conflict("no texts are held by the daily spend cap")
    audit.record(
        session=session,
        clinic_id=clinic.id,
        key_id=principal.key_id,
        action="spend_release",
        reason=f"{texts} texts, {segments} segments: {data.reason}",
    )
    return ReleaseOut(texts=texts, segments=segments)


@router.get("/security/phi-terms", summary="The clinic's additions to (and permissions from) the PHI terms")
def phi_terms(session: SessionDep, principal: PrincipalDep) -> list[PhiTermPublic]:
    rows = session.exec(
        select(PhiTerm).where(PhiTerm.clinic_id == principal.clinic_id).order_by(col(PhiTerm.created_at))
    )
    return [PhiTermPublic.model_validate(r, from_attributes=True) for r in rows]


@router.post(
    "/security/phi-terms", status_code=201, summary="Refuse a term in texts, or permit a built-in one"
)
def add_phi_term(data: PhiTermIn, session: SessionDep, principal: PrincipalDep) -> PhiTermPublic:
    term, language = data.term.strip(), data.language.strip()
    existing = session.exec(
        select(PhiTerm).where(
            PhiTerm.clinic_id == principal.clinic_id, PhiTerm.language == language, PhiTerm.term == term
        )
    ).first()
    if existing is not None:
        raise Conflict(f"'{term}' ({language}) is already on the clinic's list")
    row = PhiTerm(clinic_id=principal.clinic_id, term=term, language=language, allowed=data.allowed)
    session.add(row)
    audit.record(
        session=session,
        clinic_id=principal.clinic_id,
        key_id=principal.key_id,
        action="phi_term_permit" if data.allowed else "phi_term_add",
        reason=f"{term} ({language})",
    )
    session.flush()
    return PhiTermPublic.model_validate(row, from_attributes=True)
