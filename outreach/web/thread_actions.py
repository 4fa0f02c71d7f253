"""What a coordinator does on a thread page: claim, release, reply, note, resolve (each a POST with CSRF)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Annotated, Any, TypedDict

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from outreach.api.deps import SessionDep, SettingsDep
from outreach.clinics.models import Role
from outreach.config import Settings
from outreach.db import utcnow
from outreach.errors import Conflict, DomainError, Invalid, NotFound
from outreach.i18n import TemplateKey
from outreach.inbox import coordinator
from outreach.inbox.models import Outcome
from outreach.inbox.schemas import ReplyIn
from outreach.journeys import service as journeys
from outreach.sms.base import MAX_BODY_CHARS
from outreach.web.deps import PREFIX, FormDep, PageError, Viewer, ViewerDep, flash, role_required
from outreach.web.display import language_name
from outreach.web.threads import OUTCOME_LABELS, key_of, thread_page

router = APIRouter(prefix=f"{PREFIX}/threads", include_in_schema=False)
MAX_NOTE = 2000

_PROBLEM_PREFIX = {
    "claim": "You cannot claim this thread: ",
    "release": "You cannot release this thread: ",
    "reply": "Your reply was not sent: ",
    "note": "Your note was not saved: ",
    "resolve": "You cannot resolve this thread: ",
    "end_journeys": "The journey was not ended: ",
}
_FIELDS = ("body", "template", "note", "outcome", "resolve_note")


class OnThread(TypedDict):
    """What every coordinator action on a thread is called with: who acts, on which thread, when."""

    session: Session
    clinic_id: uuid.UUID
    thread_id: uuid.UUID
    key_id: uuid.UUID
    now: datetime


@dataclass(frozen=True, slots=True)
class Posted:
    """One action posted from the thread page: who, on which thread, with what they typed."""

    request: Request
    db: Session
    settings: Settings
    viewer: Viewer
    thread_id: uuid.UUID
    form: dict[str, str]
    drafts: dict[str, str] = field(default_factory=dict)

    def keeping(self, drafts: dict[str, str]) -> Posted:
        """The same post, showing `drafts` again in their fields if the page comes back."""
        return replace(self, drafts=drafts)

    def page(self, status_code: int, **shown: Any) -> HTMLResponse:
        """The thread page again, keeping what the person typed."""
        return thread_page(
            self.request, self.db, self.settings, self.viewer, self.thread_id,
            status_code=status_code, drafts=self.drafts, **shown,
        )  # fmt: skip

    def invalid(self, name: str, message: str) -> HTMLResponse:
        """422: the message sits beside the field it is about."""
        return self.page(422, errors={name: message})


def _posted(request: Request, thread_id: uuid.UUID, form: FormDep, viewer: ViewerDep, db: SessionDep,
            settings: SettingsDep) -> Posted:  # fmt: skip
    role_required(viewer, Role.COORDINATOR)
    return Posted(request, db, settings, viewer, thread_id, form)


PostedDep = Annotated[Posted, Depends(_posted)]


def _act(
    posted: Posted, action: str, run: Callable[[OnThread], str], *, go_to: str | None = None
) -> Response:
    """Run one action; on success back to the page with a confirmation, else the page says why."""
    on = OnThread(
        session=posted.db,
        clinic_id=posted.viewer.clinic.id,
        thread_id=posted.thread_id,
        key_id=key_of(posted.viewer),
        now=utcnow(),
    )
    try:
        done = run(on)
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
def claim(posted: PostedDep) -> Response:
    def run(on: OnThread) -> str:
        coordinator.claim(**on)
        return "You are working on this thread now: colleagues see it is yours."

    return _act(posted, "claim", run)


@router.post("/{thread_id}/release", summary="Give a thread back to the queue")
def release(posted: PostedDep) -> Response:
    def run(on: OnThread) -> str:
        coordinator.release(**on)
        return "Released: the thread is back in the queue for anyone."

    return _act(posted, "release", run)


def _reply_problem(body: str, template: str) -> str | None:
    if template and template not in set(TemplateKey):
        return "Choose a saved reply from the list."
    if not body and not template:
        return "Type a reply, or choose a saved reply."
    if body and template:
        return "Send either your own text or a saved reply, not both: clear one of them."
    if len(body) > MAX_BODY_CHARS:
        return f"A reply can be at most {MAX_BODY_CHARS} characters; this one has {len(body)}."
    return None


@router.post("/{thread_id}/reply", summary="Text the patient")
def reply(posted: PostedDep) -> Response:
    form = posted.form
    body, template = form.get("body", "").strip(), form.get("template", "")
    posted = posted.keeping({"body": form.get("body", ""), "template": template})
    problem = _reply_problem(body, template)
    if problem is not None:
        return posted.invalid("template" if problem.startswith("Choose") else "body", problem)
    try:
        data = ReplyIn(body=body or None, template=TemplateKey(template) if template else None)
    except ValidationError:
        return posted.invalid("body", "Type a reply, or choose a saved reply.")

    def run(on: OnThread) -> str:
        sent = coordinator.reply(**on, data=data)
        return f"Reply on its way to the patient, in {language_name(sent.language)}."

    return _act(posted, "reply", run)


@router.post("/{thread_id}/note", summary="Leave a note for the care team")
def note(posted: PostedDep) -> Response:
    body = posted.form.get("note", "").strip()
    posted = posted.keeping({"note": posted.form.get("note", "")})
    if not body:
        return posted.invalid("note", "Write the note first.")
    if len(body) > MAX_NOTE:
        return posted.invalid(
            "note", f"A note can be at most {MAX_NOTE} characters; this one has {len(body)}."
        )

    def run(on: OnThread) -> str:
        coordinator.add_note(**on, body=body)
        return "Note added for the care team (the patient does not see it)."

    return _act(posted, "note", run)


@router.post("/{thread_id}/resolve", summary="Close a thread with an outcome")
def resolve(posted: PostedDep) -> Response:
    form = posted.form
    chosen, remark = form.get("outcome", ""), form.get("resolve_note", "").strip()
    posted = posted.keeping({"outcome": chosen, "resolve_note": form.get("resolve_note", "")})
    if chosen not in set(Outcome):
        return posted.invalid("outcome", "Choose how the thread ended.")
    if len(remark) > MAX_NOTE:
        return posted.invalid(
            "resolve_note", f"A note can be at most {MAX_NOTE} characters; this one has {len(remark)}."
        )
    outcome = Outcome(chosen)

    def run(on: OnThread) -> str:
        coordinator.resolve(**on, outcome=outcome, note=remark or None)
        return f"Resolved ({OUTCOME_LABELS[outcome].lower()}). It reopens if the patient writes again."

    return _act(posted, "resolve", run, go_to=f"{PREFIX}/queue")


@router.post("/{thread_id}/end-journeys", summary="End the patient's running check-in journeys")
def end_journeys(posted: PostedDep) -> Response:
    def run(on: OnThread) -> str:
        ended = journeys.end_from_thread(**on)
        return f"Ended {ended} check-in journey{'s' if ended != 1 else ''}: no more of its texts will go out."

    return _act(posted, "end_journeys", run)
