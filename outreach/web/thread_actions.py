"""What a coordinator does on a thread page: claim, release, reply, note, resolve (each a POST with CSRF)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from outreach.api.deps import SessionDep, SettingsDep
from outreach.clinics.models import Role
from outreach.config import Settings
from outreach.db import utcnow
from outreach.errors import Conflict, DomainError, Invalid, NotFound
from outreach.i18n import TemplateKey
from outreach.inbox import actions
from outreach.inbox.models import Outcome
from outreach.inbox.schemas import ReplyIn
from outreach.web.deps import PREFIX, FormDep, PageError, Viewer, ViewerDep, flash, role_required
from outreach.web.display import language_name
from outreach.web.threads import OUTCOME_LABELS, key_of, thread_page

router = APIRouter(prefix=f"{PREFIX}/threads", include_in_schema=False)
MAX_REPLY = 1600
MAX_NOTE = 2000

_PROBLEM_PREFIX = {
    "claim": "You cannot claim this thread: ",
    "release": "You cannot release this thread: ",
    "reply": "Your reply was not sent: ",
    "note": "Your note was not saved: ",
    "resolve": "You cannot resolve this thread: ",
}
_FIELDS = ("body", "template", "note", "outcome", "resolve_note")


@dataclass(frozen=True, slots=True)
class Posted:
    """One action posted from the thread page: who, on which thread, with what they typed."""

    request: Request
    db: Session
    settings: Settings
    viewer: Viewer
    thread_id: uuid.UUID
    drafts: dict[str, str] = field(default_factory=dict)

    def page(self, status_code: int, **shown: Any) -> HTMLResponse:
        """The thread page again, keeping what the person typed."""
        return thread_page(
            self.request, self.db, self.settings, self.viewer, self.thread_id,
            status_code=status_code, drafts=self.drafts, **shown,
        )  # fmt: skip

    def invalid(self, name: str, message: str) -> HTMLResponse:
        """422: the message sits beside the field it is about."""
        return self.page(422, errors={name: message})


def _posted(request: Request, thread_id: uuid.UUID, db: Session, settings: Settings, viewer: Viewer,
            drafts: dict[str, str] | None = None) -> Posted:  # fmt: skip
    role_required(viewer, Role.COORDINATOR)
    return Posted(request, db, settings, viewer, thread_id, drafts or {})


def _act(posted: Posted, action: str, run: Callable[[], str], *, go_to: str | None = None) -> Response:
    """Run one action; on success back to the page with a confirmation, else the page says why."""
    try:
        done = run()
    except NotFound as exc:
        raise PageError(404, "Thread not found", "This clinic has no such thread.") from exc
    except DomainError as exc:
        posted.db.rollback()  # nothing half-done is kept; the page is read again as it stands
        if isinstance(exc, Invalid) and exc.field in _FIELDS:
            return posted.invalid(exc.field, exc.reason[:1].upper() + exc.reason[1:] + ".")
        status = 409 if isinstance(exc, Conflict) else exc.status_code
        return posted.page(status, problem=_PROBLEM_PREFIX[action] + exc.detail + ".")
    response = RedirectResponse(go_to or f"{PREFIX}/threads/{posted.thread_id}", status_code=303)
    flash(response, done)
    return response


@router.post("/{thread_id}/claim", summary="Claim a thread")
def claim(
    request: Request,
    thread_id: uuid.UUID,
    form: FormDep,
    viewer: ViewerDep,
    db: SessionDep,
    settings: SettingsDep,
) -> Response:
    posted = _posted(request, thread_id, db, settings, viewer)

    def run() -> str:
        actions.claim(
            session=db, clinic_id=viewer.clinic.id, thread_id=thread_id, key_id=key_of(viewer), now=utcnow()
        )
        return "You are working on this thread now: colleagues see it is yours."

    return _act(posted, "claim", run)


@router.post("/{thread_id}/release", summary="Give a thread back to the queue")
def release(
    request: Request,
    thread_id: uuid.UUID,
    form: FormDep,
    viewer: ViewerDep,
    db: SessionDep,
    settings: SettingsDep,
) -> Response:
    posted = _posted(request, thread_id, db, settings, viewer)

    def run() -> str:
        actions.release(
            session=db, clinic_id=viewer.clinic.id, thread_id=thread_id, key_id=key_of(viewer), now=utcnow()
        )
        return "Released: the thread is back in the queue for anyone."

    return _act(posted, "release", run)


def _reply_problem(body: str, template: str) -> str | None:
    if template and template not in set(TemplateKey):
        return "Choose a saved reply from the list."
    if not body and not template:
        return "Type a reply, or choose a saved reply."
    if body and template:
        return "Send either your own text or a saved reply, not both: clear one of them."
    if len(body) > MAX_REPLY:
        return f"A reply can be at most {MAX_REPLY} characters; this one has {len(body)}."
    return None


@router.post("/{thread_id}/reply", summary="Text the patient")
def reply(
    request: Request,
    thread_id: uuid.UUID,
    form: FormDep,
    viewer: ViewerDep,
    db: SessionDep,
    settings: SettingsDep,
) -> Response:
    body, template = form.get("body", "").strip(), form.get("template", "")
    posted = _posted(
        request, thread_id, db, settings, viewer, {"body": form.get("body", ""), "template": template}
    )
    problem = _reply_problem(body, template)
    if problem is not None:
        return posted.invalid("template" if problem.startswith("Choose") else "body", problem)
    try:
        data = ReplyIn(body=body or None, template=TemplateKey(template) if template else None)
    except ValidationError:
        return posted.invalid("body", "Type a reply, or choose a saved reply.")

    def run() -> str:
        sent = actions.reply(
            session=db,
            clinic_id=viewer.clinic.id,
            thread_id=thread_id,
            key_id=key_of(viewer),
            data=data,
            now=utcnow(),
        )
        return f"Reply on its way to the patient, in {language_name(sent.language)}."

    return _act(posted, "reply", run)


@router.post("/{thread_id}/note", summary="Leave a note for the care team")
def note(
    request: Request,
    thread_id: uuid.UUID,
    form: FormDep,
    viewer: ViewerDep,
    db: SessionDep,
    settings: SettingsDep,
) -> Response:
    body = form.get("note", "").strip()
    posted = _posted(request, thread_id, db, settings, viewer, {"note": form.get("note", "")})
    if not body:
        return posted.invalid("note", "Write the note first.")
    if len(body) > MAX_NOTE:
        return posted.invalid(
            "note", f"A note can be at most {MAX_NOTE} characters; this one has {len(body)}."
        )

    def run() -> str:
        actions.add_note(
            session=db,
            clinic_id=viewer.clinic.id,
            thread_id=thread_id,
            key_id=key_of(viewer),
            body=body,
            now=utcnow(),
        )
        return "Note added for the care team (the patient does not see it)."

    return _act(posted, "note", run)


@router.post("/{thread_id}/resolve", summary="Close a thread with an outcome")
def resolve(
    request: Request,
    thread_id: uuid.UUID,
    form: FormDep,
    viewer: ViewerDep,
    db: SessionDep,
    settings: SettingsDep,
) -> Response:
    chosen, remark = form.get("outcome", ""), form.get("resolve_note", "").strip()
    drafts = {"outcome": chosen, "resolve_note": form.get("resolve_note", "")}
    posted = _posted(request, thread_id, db, settings, viewer, drafts)
    if chosen not in set(Outcome):
        return posted.invalid("outcome", "Choose how the thread ended.")
    if len(remark) > MAX_NOTE:
        return posted.invalid(
            "resolve_note", f"A note can be at most {MAX_NOTE} characters; this one has {len(remark)}."
        )
    outcome = Outcome(chosen)

    def run() -> str:
        actions.resolve(
            session=db,
            clinic_id=viewer.clinic.id,
            thread_id=thread_id,
            key_id=key_of(viewer),
            outcome=outcome,
            note=remark or None,
            now=utcnow(),
        )
        return f"Resolved ({OUTCOME_LABELS[outcome].lower()}). It reopens if the patient writes again."

    return _act(posted, "resolve", run, go_to=f"{PREFIX}/queue")
