"""Signing in and out of the web app, and the start page for each role."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from outreach.api.deps import SessionDep, SettingsDep
from outreach.auth import authenticate
from outreach.clinics.models import Role
from outreach.security import ratelimit
from outreach.web.deps import (
    PREFIX,
    FormDep,
    ViewerDep,
    now_s,
    render,
    safe_next,
    set_session_cookie,
)
from outreach.web.sessions import COOKIE, signed_in

router = APIRouter(prefix=PREFIX, include_in_schema=False)

KEY_PREFIX = "ok_"


def _key_problem(presented: str) -> str | None:
    """Why a typed key cannot be right before asking the database, in words a person can act on."""
    if not presented:
        return "Enter your API key."
    if not presented.startswith(KEY_PREFIX):
        return "That is not an outreach key: keys start with ok_ (copy the whole key)."
    return None


def _wait_message(seconds: int) -> str:
    return f"Too many sign-in attempts from this computer. Wait {seconds} seconds and try again."


@router.get("/sign-in", summary="Sign-in page")
def sign_in_page(request: Request, settings: SettingsDep, next: str | None = None) -> HTMLResponse:
    context = {"next": safe_next(next), "error": None, "expired": next is not None}
    return render(request, "sign_in.html", context, settings=settings)


@router.post("/sign-in", summary="Sign in with an API key")
def sign_in(
    request: Request,
    form: FormDep,
    db: SessionDep,
    settings: SettingsDep,
) -> Response:
    target = safe_next(form.get("next"))
    presented = form.get("api_key", "").strip()
    problem = _key_problem(presented)
    try:
        ratelimit.check_sign_in(request)
        if not problem:
            ratelimit.check_authentication_allowed(request, presented=presented)
    except ratelimit.RateLimited as limited:
        context = {"next": target, "error": _wait_message(limited.retry_after_s), "expired": False}
        page = render(request, "sign_in.html", context, settings=settings, status_code=429)
        page.headers["Retry-After"] = str(limited.retry_after_s)
        return page
    principal = None if problem else authenticate(session=db, presented=presented)
    if principal is None and not problem:
        ratelimit.note_failed_authentication(request, presented=presented)
    if principal is None:
        error = problem or "This key is unknown or has been revoked. Ask your clinic admin for a new one."
        context = {"next": target, "error": error, "expired": False}
        return render(
            request, "sign_in.html", context, settings=settings, status_code=422 if problem else 401
        )
    session = signed_in(
        key_id=principal.key_id, clinic_id=principal.clinic_id, role=principal.role, now=now_s()
    )
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, session, settings=settings)
    return response


@router.post("/sign-out", summary="Sign out")
def sign_out(form: FormDep) -> Response:
    response = RedirectResponse(f"{PREFIX}/sign-in", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/", summary="Start page")
def home(viewer: ViewerDep) -> Response:
    target = "queue" if viewer.role == Role.COORDINATOR else "admin/patients"
    return RedirectResponse(f"{PREFIX}/{target}", status_code=303)
