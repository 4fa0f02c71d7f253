"""Clinic admin page: the clinic's senders, adding one and removing one (tokens are never shown)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import SecretStr

from outreach.api.deps import SessionDep, SettingsDep
from outreach.clinics.models import Role
from outreach.db import utcnow
from outreach.errors import DomainError, Invalid
from outreach.senders import service as senders
from outreach.senders.models import SenderType
from outreach.senders.schemas import SenderCreate
from outreach.web.deps import PREFIX, FormDep, PageError, ViewerDep, flash, render, role_required

router = APIRouter(prefix=f"{PREFIX}/admin/senders", include_in_schema=False)


def _page(
    request: Request, viewer: ViewerDep, db: SessionDep, settings: SettingsDep, **extra: object
) -> HTMLResponse:
    context = {
        "viewer": viewer,
        "senders": [senders.public(s) for s in senders.list_senders(session=db, clinic_id=viewer.clinic.id)],
        "types": list(SenderType),
        "limits": senders.MAX_RATES,
        "error": None,
        "entered": {},
    } | extra
    status = 422 if extra.get("error") else 200
    return render(request, "senders.html", context, settings=settings, status_code=status)


@router.get("", summary="The clinic's senders")
def senders_page(request: Request, viewer: ViewerDep, db: SessionDep, settings: SettingsDep) -> HTMLResponse:
    role_required(viewer, Role.ADMIN)
    return _page(request, viewer, db, settings)


def _create_data(form: dict[str, str]) -> SenderCreate:
    kind = form.get("sender_type", "long_code")
    if kind not in set(SenderType):
        raise Invalid("sender_type", "must be long_code, toll_free or short_code")
    rate_text = form.get("rate_per_s", "").strip()
    try:
        rate = float(rate_text) if rate_text else None
    except ValueError:
        raise Invalid("rate_per_s", "must be a number of segments per second") from None
    token = form.get("auth_token", "").strip()
    return SenderCreate(
        label=form.get("label", "")[:80],
        phone_number=form.get("phone_number") or None,
        messaging_service_sid=form.get("messaging_service_sid") or None,
        sender_type=SenderType(kind),
        rate_per_s=rate,
        account_sid=form.get("account_sid") or None,
        auth_token=SecretStr(token) if token else None,
        is_default=form.get("is_default") == "on",
    )


@router.post("", summary="Add a sender")
def add_sender(
    request: Request, form: FormDep, viewer: ViewerDep, db: SessionDep, settings: SettingsDep
) -> Response:
    role_required(viewer, Role.ADMIN)
    try:
        data = _create_data(form)
        senders.create_sender(
            session=db, settings=settings, clinic_id=viewer.clinic.id, data=data, now=utcnow()
        )
    except DomainError as exc:
        db.rollback()
        entered = {k: v for k, v in form.items() if k != "auth_token"}  # a token is never echoed back
        return _page(request, viewer, db, settings, error=exc.detail, entered=entered)
    db.commit()
    request.app.state.accounts.reload()
    response = RedirectResponse(f"{PREFIX}/admin/senders", status_code=303)
    flash(response, "Sender added.")
    return response


@router.post("/{sender_id}/delete", summary="Remove a sender")
def remove_sender(sender_id: uuid.UUID, form: FormDep, viewer: ViewerDep, db: SessionDep) -> Response:
    role_required(viewer, Role.ADMIN)
    try:
        senders.delete_sender(session=db, clinic_id=viewer.clinic.id, sender_id=sender_id)
    except DomainError as exc:
        raise PageError(exc.status_code, "The sender was not removed", exc.detail) from exc
    response = RedirectResponse(f"{PREFIX}/admin/senders", status_code=303)
    flash(response, "Sender removed.")
    return response
