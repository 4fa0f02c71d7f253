"""Clinic admin pages: writing a campaign (new or a draft's changes) with live feedback per language."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from outreach import i18n
from outreach.api.deps import SessionDep, SettingsDep
from outreach.campaigns import authoring
from outreach.campaigns import service as campaigns
from outreach.campaigns.models import CampaignKind, CampaignStatus
from outreach.clinics.models import Clinic, Role
from outreach.config import Settings
from outreach.db import utcnow
from outreach.errors import DomainError, Invalid
from outreach.library import service as library
from outreach.web import authoring_form as forms
from outreach.web.deps import PREFIX, FormDep, PageError, Viewer, ViewerDep, flash, render, role_required

router = APIRouter(prefix=f"{PREFIX}/admin/campaigns", include_in_schema=False)


def _languages(clinic: Clinic, patients: Counter[str]) -> tuple[list[str], list[str]]:
    """Languages to write in first (the fallback, then by patients), and the rest."""
    fallback = library.source_language(clinic)
    spoken = [lang for lang, _ in patients.most_common() if lang in i18n.SUPPORTED and lang != fallback]
    first = [fallback, *spoken]
    return first, [lang for lang in i18n.SUPPORTED if lang not in first]


def _feedback(db: Session, clinic: Clinic, draft: forms.Draft, patients: Counter[str]) -> list[Any]:
    out = []
    for step in draft.steps:
        try:
            sends = step.sends(draft.kind)
        except Invalid:
            sends = 1
        template = None if step.source != "builtin" else step.template or _default(draft.kind)
        bodies = step.bodies if step.source != "builtin" else {}
        found = authoring.step_feedback(
            clinic=clinic, kind=draft.kind, policy=draft.fallback_policy, position=step.position,
            template=template, bodies=bodies, sends=sends, patients=patients, now=utcnow(),
        )  # fmt: skip
        out.append((found, step.stale))
    return out


def _default(kind: CampaignKind) -> str | None:
    key = campaigns.DEFAULT_TEMPLATE.get(kind)
    return str(key) if key else None


def _context(db: Session, viewer: Viewer, draft: forms.Draft, **extra: Any) -> dict[str, Any]:
    clinic = viewer.clinic
    patients = authoring.patients_by_language(
        session=db, clinic_id=clinic.id, clinic_default=clinic.default_language
    )
    first, rest = _languages(clinic, patients)
    while len(draft.steps) < forms.MAX_STEPS:
        draft.steps.append(forms.StepDraft(position=len(draft.steps) + 1))
    return {
        "viewer": viewer,
        "draft": draft,
        "kinds": list(CampaignKind),
        "templates": [str(k) for k in i18n.TemplateKey],
        "library": library.library(session=db, clinic=clinic, wanted=[]),
        "first_languages": first,
        "other_languages": rest,
        "allowed": campaigns.allowed_placeholders(draft.kind),
        "feedback": _feedback(db, clinic, _filled(draft), patients),
        "error": None,
        **extra,
    }


def _filled(draft: forms.Draft) -> forms.Draft:
    """The steps worth feedback: the first, and any later one with timing typed in."""
    steps = [s for s in draft.steps if s.position == 1 or any(s.timing.values())]
    return forms.Draft(draft.name, draft.kind, draft.fallback_policy, draft.anchor_date, steps)


def _page(request: Request, settings: Settings, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    return render(request, "campaign_form.html", context, settings=settings, status_code=status)


@router.get("/new", summary="Write a new campaign")
def new_page(request: Request, viewer: ViewerDep, db: SessionDep, settings: SettingsDep) -> HTMLResponse:
    role_required(viewer, Role.ADMIN)
    draft = forms.Draft(steps=[forms.StepDraft(position=1, timing={"hours": "24"})])
    return _page(request, settings, _context(db, viewer, draft, action="new", campaign=None))


def _save(db: Session, viewer: Viewer, form: dict[str, str], campaign_id: uuid.UUID | None) -> uuid.UUID:
    clinic = db.get_one(Clinic, viewer.clinic.id)
    saved = library.library(session=db, clinic=clinic, wanted=[])
    data = forms.to_create(forms.read(form, library=saved), tz=clinic.timezone)
    if campaign_id is None:
        return campaigns.create_campaign(session=db, clinic=clinic, data=data, now=utcnow()).id
    campaigns.replace_draft(session=db, clinic=clinic, campaign_id=campaign_id, data=data, now=utcnow())
    return campaign_id


def _submit(
    request: Request, db: Session, viewer: Viewer, settings: Settings, form: dict[str, str],
    campaign_id: uuid.UUID | None,
) -> Response:  # fmt: skip
    try:
        saved_id = _save(db, viewer, form, campaign_id)
    except DomainError as exc:
        db.rollback()  # nothing half-written
        draft = forms.read(form, library=library.library(session=db, clinic=viewer.clinic, wanted=[]))
        error = {"field": getattr(exc, "field", ""), "reason": getattr(exc, "reason", exc.detail)}
        action = "new" if campaign_id is None else "edit"
        context = _context(db, viewer, draft, action=action, campaign=campaign_id, error=error)
        return _page(request, settings, context, status=exc.status_code)
    response = RedirectResponse(f"{PREFIX}/admin/campaigns/{saved_id}", status_code=303)
    flash(response, "Campaign saved as a draft." if campaign_id is None else "Changes saved.")
    return response


@router.post("/new", summary="Create a campaign from the form")
def create(
    request: Request, form: FormDep, viewer: ViewerDep, db: SessionDep, settings: SettingsDep
) -> Response:
    role_required(viewer, Role.ADMIN)
    return _submit(request, db, viewer, settings, form, None)


@router.post("/feedback", summary="Live feedback on the campaign being written")
def feedback(
    request: Request, form: FormDep, viewer: ViewerDep, db: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    role_required(viewer, Role.ADMIN)
    draft = forms.read(form, library=library.library(session=db, clinic=viewer.clinic, wanted=[]))
    context = _context(db, viewer, draft)
    return render(request, "_authoring_feedback.html", context, settings=settings)


def _draft_campaign(db: Session, viewer: Viewer, campaign_id: uuid.UUID) -> forms.Draft:
    try:
        campaign = campaigns.get_campaign(session=db, clinic_id=viewer.clinic.id, campaign_id=campaign_id)
    except DomainError as exc:
        raise PageError(404, "Campaign not found", "This clinic has no such campaign.") from exc
    if campaign.status != CampaignStatus.DRAFT:
        raise PageError(409, "Already launched", "Only a draft campaign can be changed.")
    steps = campaigns.get_steps(session=db, campaign_id=campaign.id)
    return forms.from_campaign(campaign, steps, tz=viewer.clinic.timezone)


@router.get("/{campaign_id}/edit", summary="Change a draft campaign")
def edit_page(
    request: Request, campaign_id: uuid.UUID, viewer: ViewerDep, db: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    role_required(viewer, Role.ADMIN)
    draft = _draft_campaign(db, viewer, campaign_id)
    return _page(request, settings, _context(db, viewer, draft, action="edit", campaign=campaign_id))


@router.post("/{campaign_id}/edit", summary="Save a draft campaign's changes")
def edit(
    request: Request, campaign_id: uuid.UUID, form: FormDep, viewer: ViewerDep, db: SessionDep,
    settings: SettingsDep,
) -> Response:  # fmt: skip
    role_required(viewer, Role.ADMIN)
    _draft_campaign(db, viewer, campaign_id)
    return _submit(request, db, viewer, settings, form, campaign_id)
