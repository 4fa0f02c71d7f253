"""Clinic admin routes: campaigns (create, enroll, preview, dry run, launch, pause, resume)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import Session

from outreach.api.deps import PrincipalDep, SessionDep, require_role
from outreach.api.paging import Offset
from outreach.api.strict_query import refuse_unknown_query
from outreach.campaigns import enrollment, launch, preview, service
from outreach.campaigns.models import Campaign
from outreach.campaigns.schemas import (
    CampaignCreate,
    CampaignPublic,
    EnrollIn,
    EnrollReport,
    LaunchReport,
    PreviewIn,
    PreviewOut,
    StepPublic,
    Timeline,
)
from outreach.clinics.models import Role
from outreach.clinics.service import get_clinic
from outreach.db import utcnow

router = APIRouter(
    prefix="/admin", tags=["campaigns"], dependencies=[require_role(Role.ADMIN), refuse_unknown_query]
)

Limit = Annotated[int, Query(ge=1, le=500)]


def _public(session: Session, campaign: Campaign) -> CampaignPublic:
    steps = [
        StepPublic.model_validate(step, from_attributes=True)
        for step in service.get_steps(session=session, campaign_id=campaign.id)
    ]
    fields = {name: getattr(campaign, name) for name in CampaignPublic.model_fields if name != "steps"}
    return CampaignPublic.model_validate({**fields, "steps": steps})


@router.post("/campaigns", status_code=201, summary="Create a draft campaign")
def create_campaign(data: CampaignCreate, session: SessionDep, principal: PrincipalDep) -> CampaignPublic:
    clinic = get_clinic(session=session, clinic_id=principal.clinic_id)
    campaign = service.create_campaign(
        session=session, clinic=clinic, data=data, now=utcnow(), actor_key_id=principal.key_id
    )
    return _public(session, campaign)


@router.get("/campaigns", summary="List campaigns, newest first")
def list_campaigns(
    session: SessionDep, principal: PrincipalDep, limit: Limit = 50, offset: Offset = 0
) -> list[CampaignPublic]:
    found = service.list_campaigns(session=session, clinic_id=principal.clinic_id, limit=limit, offset=offset)
    return [_public(session, campaign) for campaign in found]


@router.get("/campaigns/{campaign_id}", summary="Get a campaign and its steps")
def get_campaign(campaign_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> CampaignPublic:
    campaign = service.get_campaign(session=session, clinic_id=principal.clinic_id, campaign_id=campaign_id)
    return _public(session, campaign)


@router.post("/campaigns/{campaign_id}/enroll", summary="Enroll patients by ids, by filter, or all")
def enroll(
    campaign_id: uuid.UUID, data: EnrollIn, session: SessionDep, principal: PrincipalDep
) -> EnrollReport:
    return enrollment.enroll(
        session=session, clinic_id=principal.clinic_id, campaign_id=campaign_id, data=data, now=utcnow()
    )


@router.post("/campaigns/{campaign_id}/preview", summary="Render one step for one patient")
def preview_step(
    campaign_id: uuid.UUID, data: PreviewIn, session: SessionDep, principal: PrincipalDep
) -> PreviewOut:
    return preview.preview(
        session=session,
        clinic_id=principal.clinic_id,
        campaign_id=campaign_id,
        patient_id=data.patient_id,
        step=data.step,
        now=utcnow(),
        event_id=data.event_id,
    )


@router.get("/campaigns/{campaign_id}/dry-run", summary="What a launch now would write, without writing it")
def dry_run(campaign_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Timeline:
    return preview.dry_run(
        session=session, clinic_id=principal.clinic_id, campaign_id=campaign_id, now=utcnow()
    )


@router.post(
    "/campaigns/{campaign_id}/launch",
    status_code=202,
    summary="Launch: recorded at once; a worker writes the texts ahead of their time",
)
def launch_campaign(campaign_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> LaunchReport:
    record = launch.launch(
        session=session, clinic_id=principal.clinic_id, campaign_id=campaign_id, now=utcnow()
    )
    return launch.report(record)


@router.get("/campaigns/{campaign_id}/launch", summary="A launch's progress: patients planned, rows written")
def launch_progress(campaign_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> LaunchReport:
    record = launch.get_launch(session=session, clinic_id=principal.clinic_id, campaign_id=campaign_id)
    return launch.report(record)


@router.post("/campaigns/{campaign_id}/pause", summary="Hold the campaign's unsent texts")
def pause(campaign_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> dict[str, int]:
    held = service.pause(
        session=session, clinic_id=principal.clinic_id, campaign_id=campaign_id, now=utcnow()
    )
    return {"held": held}


@router.post("/campaigns/{campaign_id}/resume", summary="Release a paused campaign's texts")
def resume(campaign_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> dict[str, int]:
    released = service.resume(
        session=session, clinic_id=principal.clinic_id, campaign_id=campaign_id, now=utcnow()
    )
    return {"released": released}
