"""Clinic admin route: the caller's own clinic, with its id."""

from __future__ import annotations

from fastapi import APIRouter

from outreach.api.deps import PrincipalDep, SessionDep, require_role
from outreach.api.strict_query import refuse_unknown_query
from outreach.clinics.models import Role
from outreach.clinics.schemas import ClinicPublic
from outreach.clinics.service import get_clinic

router = APIRouter(
    prefix="/admin", tags=["admin"], dependencies=[require_role(Role.ADMIN), refuse_unknown_query]
)


@router.get("/clinic", summary="The caller's clinic, with its id")
def my_clinic(session: SessionDep, principal: PrincipalDep) -> ClinicPublic:
    clinic = get_clinic(session=session, clinic_id=principal.clinic_id)
    return ClinicPublic.model_validate(clinic, from_attributes=True)
