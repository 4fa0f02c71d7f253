"""The patient-phone simulator page: one phone per patient, replies through the real signed webhook."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from outreach.api.deps import SessionDep, SettingsDep
from outreach.config import Settings
from outreach.errors import NotFound
from outreach.security.simulator_access import simulator_enabled
from outreach.sms import simulator_phones
from outreach.sms.base import MAX_BODY_CHARS
from outreach.web.deps import PREFIX, FormDep, PageError, ViewerDep, render

router = APIRouter(prefix=f"{PREFIX}/simulator", include_in_schema=False)


def _require_simulator(settings: Settings) -> None:
    if not simulator_enabled(settings):
        raise PageError(404, "Not found", "The phone simulator is off: this server sends real texts.")


@router.get("", summary="Simulated patient phones")
def phones_page(request: Request, viewer: ViewerDep, db: SessionDep, settings: SettingsDep) -> HTMLResponse:
    _require_simulator(settings)
    phones = simulator_phones.phones(session=db, clinic_id=viewer.clinic.id)
    context = {"viewer": viewer, "phones": phones, "errors": {}, "drafts": {}}
    return render(request, "simulator.html", context, settings=settings)


@router.get("/texts", summary="The phones' texts, for the page to refresh itself")
def phone_texts(request: Request, viewer: ViewerDep, db: SessionDep, settings: SettingsDep) -> HTMLResponse:
    _require_simulator(settings)
    phones = simulator_phones.phones(session=db, clinic_id=viewer.clinic.id)
    return render(request, "_phone_texts.html", {"phones": phones}, settings=settings)


def _reply_problem(body: str) -> str | None:
    if not body.strip():
        return "Type a reply first."
    if len(body) > MAX_BODY_CHARS:
        return f"A text can be at most {MAX_BODY_CHARS} characters; this one has {len(body)}."
    return None


@router.post("/{patient_id}/reply", summary="Reply from a simulated phone")
def reply(
    request: Request,
    patient_id: uuid.UUID,
    form: FormDep,
    viewer: ViewerDep,
    db: SessionDep,
    settings: SettingsDep,
) -> Response:
    _require_simulator(settings)
    body = form.get("body", "")
    problem = _reply_problem(body)
    if problem is None:
        try:
            simulator_phones.reply_from_phone(
                session=db, settings=settings, clinic=viewer.clinic, patient_id=patient_id, body=body
            )
        except NotFound as exc:
            raise PageError(
                404, "No such phone", "This clinic has no simulated phone for that patient."
            ) from exc
        except simulator_phones.WebhookRefused as exc:
            problem = f"The inbound webhook refused the text (HTTP {exc}); check OUTREACH_PUBLIC_BASE_URL."
    if problem is None:
        return RedirectResponse(f"{PREFIX}/simulator#phone-{patient_id}", status_code=303)
    phones = simulator_phones.phones(session=db, clinic_id=viewer.clinic.id)
    context = {
        "viewer": viewer,
        "phones": phones,
        "errors": {patient_id: problem},
        "drafts": {patient_id: body},
    }
    return render(request, "simulator.html", context, settings=settings, status_code=422)
