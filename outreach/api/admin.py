"""Clinic admin routes: one-off texts."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from outreach.api.deps import PrincipalDep, SessionDep, require_role
from outreach.api.paging import Offset
from outreach.api.strict_query import refuse_unknown_query
from outreach.clinics.models import Role
from outreach.db import utcnow
from outreach.messaging import service as messaging
from outreach.messaging.schemas import MessageCreate, MessagePublic

router = APIRouter(
    prefix="/admin", tags=["admin"], dependencies=[require_role(Role.ADMIN), refuse_unknown_query]
)

Limit = Annotated[int, Query(ge=1, le=500)]


@router.post("/messages", status_code=201, summary="Schedule a one-off text")
def create_message(data: MessageCreate, session: SessionDep, principal: PrincipalDep) -> MessagePublic:
    message = messaging.create_one_off(
        session=session,
        clinic_id=principal.clinic_id,
        patient_id=data.patient_id,
        body=data.body,
        send_at=data.send_at,
        language=data.language,
        now=utcnow(),
        phi_override_reason=data.phi_override_reason,
        actor_key_id=principal.key_id,
    )
    return MessagePublic.model_validate(message, from_attributes=True)


@router.get("/messages", summary="List texts")
def list_messages(
    session: SessionDep,
    principal: PrincipalDep,
    patient_id: uuid.UUID | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[MessagePublic]:
    rows = messaging.list_messages(
        session=session, clinic_id=principal.clinic_id, patient_id=patient_id, limit=limit, offset=offset
    )
    return [MessagePublic.model_validate(m, from_attributes=True) for m in rows]


@router.get("/messages/{message_id}", summary="Get a text and its status")
def get_message(message_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> MessagePublic:
    message = messaging.get_message(session=session, clinic_id=principal.clinic_id, message_id=message_id)
    return MessagePublic.model_validate(message, from_attributes=True)
