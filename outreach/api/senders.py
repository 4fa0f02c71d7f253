"""Clinic admin routes: the clinic's senders (numbers and Messaging Services) and a campaign's sender."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response

from outreach.api.deps import PrincipalDep, SessionDep, SettingsDep, require_role
from outreach.api.strict_query import refuse_unknown_query
from outreach.clinics.models import Role
from outreach.db import utcnow
from outreach.senders import service as senders
from outreach.senders.schemas import CampaignSenderIn, SenderCreate, SenderPublic, SenderUpdate

router = APIRouter(
    prefix="/admin", tags=["senders"], dependencies=[require_role(Role.ADMIN), refuse_unknown_query]
)


def _tokens_changed(request: Request) -> None:
    # This process checks webhook signatures with the new tokens at once; others within their TTL.
    request.app.state.accounts.reload()


@router.post("/senders", status_code=201, summary="Add a sender (its auth token is stored encrypted)")
def create_sender(
    data: SenderCreate, session: SessionDep, settings: SettingsDep, principal: PrincipalDep, request: Request
) -> SenderPublic:
    sender = senders.create_sender(
        session=session, settings=settings, clinic_id=principal.clinic_id, data=data, now=utcnow()
    )
    session.commit()
    if sender.account_sid:
        _tokens_changed(request)
    return senders.public(sender)


@router.get("/senders", summary="List the clinic's senders, default first")
def list_senders(session: SessionDep, principal: PrincipalDep) -> list[SenderPublic]:
    return [senders.public(s) for s in senders.list_senders(session=session, clinic_id=principal.clinic_id)]


@router.get("/senders/{sender_id}", summary="Get a sender")
def get_sender(sender_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> SenderPublic:
    return senders.public(
        senders.get_sender(session=session, clinic_id=principal.clinic_id, sender_id=sender_id)
    )


@router.patch("/senders/{sender_id}", summary="Change a sender's label, rate or default")
def update_sender(
    sender_id: uuid.UUID, data: SenderUpdate, session: SessionDep, principal: PrincipalDep
) -> SenderPublic:
    sender = senders.update_sender(
        session=session, clinic_id=principal.clinic_id, sender_id=sender_id, data=data, now=utcnow()
    )
    return senders.public(sender)


@router.delete("/senders/{sender_id}", status_code=204, summary="Remove a sender no waiting text uses")
def delete_sender(
    sender_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, request: Request
) -> Response:
    senders.delete_sender(session=session, clinic_id=principal.clinic_id, sender_id=sender_id)
    session.commit()
    _tokens_changed(request)
    return Response(status_code=204)


@router.put("/campaigns/{campaign_id}/sender", summary="Name the sender a campaign's texts go out from")
def set_campaign_sender(
    campaign_id: uuid.UUID, data: CampaignSenderIn, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    campaign = senders.set_campaign_sender(
        session=session, clinic_id=principal.clinic_id, campaign_id=campaign_id, sender_id=data.sender_id
    )
    return {"campaign_id": campaign.id, "sender_id": campaign.sender_id}
