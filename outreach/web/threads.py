"""One thread for a coordinator: the conversation and its context; claim, release, reply, note, resolve."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from outreach.api.deps import SessionDep, SettingsDep
from outreach.clinics.models import Role
from outreach.config import Settings
from outreach.db import utcnow
from outreach.errors import NotFound
from outreach.i18n import TemplateKey
from outreach.inbox import context as around
from outreach.inbox import history
from outreach.inbox.models import Outcome
from outreach.web.deps import PREFIX, PageError, Viewer, ViewerDep, render, role_required

router = APIRouter(prefix=f"{PREFIX}/threads", include_in_schema=False)

TEMPLATE_LABELS: dict[TemplateKey, str] = {
    TemplateKey.APPOINTMENT_REMINDER: "Appointment reminder (date, time, place)",
    TemplateKey.SAME_DAY_REMINDER: "See you today",
    TemplateKey.CHECKIN_POST_VISIT: "How are you feeling since your visit?",
    TemplateKey.CHECKIN_MEDICATION: "Are you taking your medicine?",
    TemplateKey.MISSED_APPOINTMENT: "We missed you: call to pick a new time",
}
OUTCOME_LABELS: dict[Outcome, str] = {
    Outcome.ANSWERED: "Answered the patient",
    Outcome.RESCHEDULED: "Rescheduled the visit",
    Outcome.APPOINTMENT_CANCELLED: "Cancelled the visit",
    Outcome.CALLED_PATIENT: "Called the patient",
    Outcome.REFERRED: "Referred to a clinician",
    Outcome.WRONG_NUMBER: "Wrong number",
    Outcome.NO_ACTION_NEEDED: "No action needed",
}


def key_of(viewer: Viewer) -> uuid.UUID:
    """The key the person signed in with (who claims, replies and is audited)."""
    key_id = viewer.session.key_id
    assert key_id is not None  # a signed-in viewer has a key
    return key_id


def thread_page(
    request: Request,
    db: Session,
    settings: Settings,
    viewer: Viewer,
    thread_id: uuid.UUID,
    *,
    status_code: int = 200,
    problem: str | None = None,
    errors: dict[str, str] | None = None,
    drafts: dict[str, str] | None = None,
) -> HTMLResponse:
    """The thread page, with a problem or field errors from a form when there are any."""
    now = utcnow()
    try:
        thread = history.get_thread(
            session=db, clinic_id=viewer.clinic.id, thread_id=thread_id, key_id=key_of(viewer), now=now
        )
    except NotFound as exc:
        raise PageError(404, "Thread not found", "This clinic has no such thread.") from exc
    holder = thread.claimed_by
    context: dict[str, Any] = {
        "viewer": viewer,
        "nav": "queue",
        "t": thread,
        "ctx": around.thread_context(
            session=db,
            clinic_id=viewer.clinic.id,
            thread_id=thread.id,
            patient_id=thread.patient_id,
            campaign_id=thread.campaign_id,
            now=now,
        ),
        "mine": holder is not None and holder.key_id == key_of(viewer),
        "held_by_other": holder.name if holder is not None and holder.key_id != key_of(viewer) else None,
        "notes": [e for e in thread.entries if e.kind == "note"],
        "problem": problem,
        "errors": errors or {},
        "drafts": drafts or {},
        "templates": TEMPLATE_LABELS,
        "outcomes": OUTCOME_LABELS,
        "now": now,
    }
    return render(request, "thread.html", context, settings=settings, status_code=status_code)


@router.get("/{thread_id}", summary="A thread: the conversation, its context and what to do")
def show(
    request: Request, thread_id: uuid.UUID, viewer: ViewerDep, db: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    # Admins may read a thread (viewing is audited like a coordinator's); only coordinators act on it.
    return thread_page(request, db, settings, viewer, thread_id)


@router.get("/{thread_id}/preview", summary="A saved reply as this patient would get it")
def preview(
    request: Request,
    thread_id: uuid.UUID,
    viewer: ViewerDep,
    db: SessionDep,
    settings: SettingsDep,
    template: str = "",
) -> HTMLResponse:
    role_required(viewer, Role.COORDINATOR)
    shown = None
    if template:
        if template not in set(TemplateKey):
            shown = around.CannedPreview(None, None, None, "There is no such saved reply.")
        else:
            try:
                shown = around.canned_preview(
                    session=db,
                    clinic=viewer.clinic,
                    thread_id=thread_id,
                    template=TemplateKey(template),
                    now=utcnow(),
                )
            except NotFound as exc:
                raise PageError(404, "Thread not found", "This clinic has no such thread.") from exc
    return render(request, "_template_preview.html", {"preview": shown}, settings=settings)
