"""Clinic admin pages: campaigns with status and delivery figures, and the timeline before launch."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from outreach.api.deps import SessionDep, SettingsDep
from outreach.campaigns import enrollment, launch, preview
from outreach.campaigns import figures as delivery
from outreach.campaigns import service as campaigns
from outreach.campaigns.models import CampaignStatus
from outreach.campaigns.schemas import EnrollIn, LaunchReport
from outreach.clinics.models import Role
from outreach.db import utcnow
from outreach.demo import is_demo_campaign
from outreach.errors import DomainError
from outreach.patients import service as patients
from outreach.web import demo_actions, journey_view, wording
from outreach.web.deps import (
    PREFIX,
    FormDep,
    PageError,
    Viewer,
    ViewerDep,
    flash,
    render,
    role_required,
)
from outreach.web.reports import campaign_summary

router = APIRouter(prefix=f"{PREFIX}/admin/campaigns", include_in_schema=False)
PAGE_SIZE = 50


@router.get("", summary="Campaigns with status and delivery figures")
def campaigns_page(
    request: Request,
    viewer: ViewerDep,
    db: SessionDep,
    settings: SettingsDep,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    role_required(viewer, Role.ADMIN)
    rows = campaigns.list_campaigns(
        session=db, clinic_id=viewer.clinic.id, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE
    )
    shown = rows[:PAGE_SIZE]
    ids = [c.id for c in shown]
    figures = delivery.delivery_figures(session=db, clinic_id=viewer.clinic.id, campaign_ids=ids)
    context = {
        "viewer": viewer,
        "campaigns": shown,
        "figures": {c: delivery.grouped(f) for c, f in figures.items()},
        "enrolled": delivery.enrolled_counts(session=db, campaign_ids=ids),
        "page": page,
        "has_next": len(rows) > PAGE_SIZE,
    }
    return render(request, "campaigns.html", context, settings=settings)


def _step_preview(
    db: Session, viewer: Viewer, campaign_id: uuid.UUID, patient: uuid.UUID | None, step: int
) -> tuple[Any, str | None]:
    """One step rendered for one patient, or why it cannot be."""
    if patient is None:
        return None, None
    try:
        shown = preview.preview(
            session=db,
            clinic_id=viewer.clinic.id,
            campaign_id=campaign_id,
            patient_id=patient,
            step=step,
            now=utcnow(),
        )
    except DomainError as exc:
        return None, exc.detail
    return shown, None


@router.get("/{campaign_id}", summary="A campaign: steps, delivery figures, timeline preview")
def campaign_page(
    request: Request,
    campaign_id: uuid.UUID,
    viewer: ViewerDep,
    db: SessionDep,
    settings: SettingsDep,
    patient: uuid.UUID | None = None,
    step: Annotated[int, Query(ge=1, le=10)] = 1,
) -> HTMLResponse:
    role_required(viewer, Role.ADMIN)
    try:
        campaign = campaigns.get_campaign(session=db, clinic_id=viewer.clinic.id, campaign_id=campaign_id)
    except DomainError as exc:
        raise PageError(404, "Campaign not found", "This clinic has no such campaign.") from exc
    draft = campaign.status == CampaignStatus.DRAFT
    # The dry run plans every row, so it runs only before launch, when it is the point of the page.
    timeline = (
        preview.dry_run(session=db, clinic_id=viewer.clinic.id, campaign_id=campaign.id, now=utcnow())
        if draft
        else None
    )
    figures = delivery.delivery_figures(session=db, clinic_id=viewer.clinic.id, campaign_ids=[campaign.id])
    shown, problem = _step_preview(db, viewer, campaign.id, patient, step)
    steps = campaigns.get_steps(session=db, campaign_id=campaign.id)
    context = {
        "viewer": viewer,
        "campaign": campaign,
        "draft": draft,
        "demo": is_demo_campaign(campaign),
        "fallback_lines": wording.fallback_groups(timeline.fallbacks) if timeline else [],
        "left_out": wording.left_out(timeline.excluded) if timeline else "",
        "steps": steps,
        "timings": [journey_view.step_timing(s, campaign.anchor_event) for s in steps],
        "journeys": journey_view.journey_view(
            db=db, clinic_id=viewer.clinic.id, campaign=campaign, steps=steps
        ),
        "withheld": journey_view.WITHHELD,
        "anchor_label": journey_view.EVENTS.get(campaign.anchor_event or "", campaign.anchor_event),
        "timeline": timeline,
        "figures": figures[campaign.id],
        "progress": None if draft else _progress(db, viewer, campaign.id),
        "enrolled": delivery.enrolled_counts(session=db, campaign_ids=[campaign.id]).get(campaign.id, 0),
        "patients": patients.list_patients(
            session=db, clinic_id=viewer.clinic.id, language=None, consent=None, limit=200, offset=0
        ),
        "chosen": {"patient": patient, "step": step},
        "preview": shown,
        "preview_problem": problem,
        "outcomes": campaign_summary(
            db=db, settings=settings, clinic_id=viewer.clinic.id, campaign_id=campaign.id, draft=draft
        ),
    }
    return render(request, "campaign.html", context, settings=settings)


def _enroll_all(db: Session, viewer: Viewer, campaign_id: uuid.UUID) -> str:
    report = enrollment.enroll(
        session=db, clinic_id=viewer.clinic.id, campaign_id=campaign_id, data=EnrollIn(all=True), now=utcnow()
    )
    return (
        f"Enrolled {wording.plural(report.enrolled, 'patient')} ({report.already_enrolled} already were; "
        f"{wording.left_out(report.excluded)})."
    )


def _progress(db: Session, viewer: Viewer, campaign_id: uuid.UUID) -> LaunchReport | None:
    try:
        return launch.report(
            launch.get_launch(session=db, clinic_id=viewer.clinic.id, campaign_id=campaign_id)
        )
    except DomainError:
        return None


def _launch(db: Session, viewer: Viewer, campaign_id: uuid.UUID) -> str:
    launch.launch(session=db, clinic_id=viewer.clinic.id, campaign_id=campaign_id, now=utcnow())
    return "Launched: the texts are being written to the outbox; this page shows how far."


def _pause(db: Session, viewer: Viewer, campaign_id: uuid.UUID) -> str:
    held = campaigns.pause(session=db, clinic_id=viewer.clinic.id, campaign_id=campaign_id, now=utcnow())
    return f"Paused: {held} texts held."


def _resume(db: Session, viewer: Viewer, campaign_id: uuid.UUID) -> str:
    released = campaigns.resume(session=db, clinic_id=viewer.clinic.id, campaign_id=campaign_id, now=utcnow())
    return f"Resumed: {released} texts released."


_ACTIONS: dict[str, Callable[[Session, Viewer, uuid.UUID], str]] = {
    "enroll-all": _enroll_all,
    "launch": _launch,
    "pause": _pause,
    "resume": _resume,
    "send-demo": demo_actions.send_demo_now,
}


@router.post("/{campaign_id}/{action}", summary="Enroll everyone, launch, pause or resume a campaign")
def campaign_action(
    campaign_id: uuid.UUID, action: str, form: FormDep, viewer: ViewerDep, db: SessionDep
) -> Response:
    role_required(viewer, Role.ADMIN)
    run = _ACTIONS.get(action)
    if run is None:
        raise PageError(404, "Not found", "There is no such campaign action.")
    try:
        done = run(db, viewer, campaign_id)
    except DomainError as exc:
        raise PageError(exc.status_code, "That did not work", exc.detail) from exc
    response = RedirectResponse(f"{PREFIX}/admin/campaigns/{campaign_id}", status_code=303)
    flash(response, done)
    return response
