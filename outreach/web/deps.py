"""What every page needs: the signed-in person, CSRF checks, and rendering with the shared layout."""

from __future__ import annotations

import base64
import hmac
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from outreach.api.deps import SessionDep, SettingsDep
from outreach.auth import active_clinic
from outreach.clinics.models import Clinic, Role
from outreach.config import Settings
from outreach.sms.base import MAX_BODY_CHARS
from outreach.web import display
from outreach.web.sessions import COOKIE, WebSession, anonymous, decode, encode, session_secret

PREFIX = "/app"
FLASH_COOKIE = "outreach_flash"
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.globals["MAX_BODY_CHARS"] = MAX_BODY_CHARS
templates.env.filters["language_name"] = display.language_name
templates.env.filters["text_dir"] = display.text_dir
templates.env.filters["text_lang"] = display.text_lang
templates.env.filters["when"] = display.when
templates.env.filters["ago"] = display.ago
templates.env.filters["local"] = display.local
templates.env.filters["masked"] = display.masked_phone
templates.env.filters["offset"] = display.offset


class SignInRequired(Exception):
    """No valid session: the person signs in and comes back to `next_url`."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class PageError(Exception):
    """A problem shown to the person as a page with a clear message, not a stack trace."""

    def __init__(self, status_code: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status_code, self.title, self.message = status_code, title, message


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in person: their key's clinic and role."""

    session: WebSession
    clinic: Clinic
    role: Role


def now_s() -> int:
    """Seconds since the epoch (what the cookie's age is measured in)."""
    return int(time.time())


def web_session(request: Request, settings: Settings) -> WebSession:
    """The cookie's session, or a new anonymous one that the next page sets (for its CSRF token)."""
    cached: WebSession | None = getattr(request.state, "web_session", None)
    if cached is not None:
        return cached
    raw = request.cookies.get(COOKIE, "")
    found = decode(raw, secret=session_secret(settings), now=now_s()) if raw else None
    if found is None:
        found = anonymous(now=now_s())
        request.state.set_cookie = True
    request.state.web_session = found
    return found


def here(request: Request) -> str:
    """The current page as a local path with its query, for `next=`."""
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def sign_in_url(next_url: str) -> str:
    """The sign-in page that returns to `next_url` afterwards."""
    return f"{PREFIX}/sign-in?next={quote(next_url, safe='/')}"


def safe_next(value: str | None) -> str:
    """`next` only ever points inside the app (never to another site)."""
    if value and value.startswith(f"{PREFIX}/") and not value.startswith("//") and "\\" not in value:
        return value
    return f"{PREFIX}/"


def get_viewer(request: Request, db: SessionDep, settings: SettingsDep) -> Viewer:
    """The signed-in person; sign-in (keeping this page) when the session is missing, expired or revoked."""
    current = web_session(request, settings)
    if current.key_id is None or current.clinic_id is None or current.role is None:
        raise SignInRequired(here(request))
    clinic = active_clinic(session=db, key_id=current.key_id, clinic_id=current.clinic_id, role=current.role)
    if clinic is None:
        raise SignInRequired(here(request))
    db.expunge(clinic)  # a read-only snapshot: error pages render it after the session rolled back
    viewer = Viewer(session=current, clinic=clinic, role=current.role)
    request.state.viewer = viewer  # error pages show the same navigation
    return viewer


ViewerDep = Annotated[Viewer, Depends(get_viewer)]


def role_required(viewer: Viewer, role: Role) -> None:
    """A clear page (not an error) when a signed-in person opens a page for the other role."""
    if viewer.role != role:
        raise PageError(
            403,
            "Not available with this key",
            f"This page is for {role.value} keys; you signed in with a {viewer.role.value} key. "
            "Sign out and sign in with the right key.",
        )


async def checked_form(request: Request, settings: SettingsDep) -> dict[str, str]:
    """The posted form once its CSRF token matches the session's; 403 page otherwise."""
    form = await request.form(max_files=0, max_fields=200)  # a campaign form: 3 steps x 20 languages
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    current = web_session(request, settings)
    sent = fields.pop("csrf_token", "")
    if getattr(request.state, "set_cookie", False) or not hmac.compare_digest(sent, current.csrf):
        raise PageError(
            403,
            "This form has expired",
            "The page was open too long or came from somewhere else. Go back, reload it and try again.",
        )
    return fields


FormDep = Annotated[dict[str, str], Depends(checked_form)]


def render(
    request: Request, name: str, context: dict[str, Any], *, settings: Settings, status_code: int = 200
) -> HTMLResponse:
    """A page in the shared layout, with the CSRF token and the session cookie when it is new."""
    current = web_session(request, settings)
    shared = {
        "csrf": current.csrf,
        "prefix": PREFIX,
        "simulator_on": settings.gateway == "simulator",
        "viewer": getattr(request.state, "viewer", None),
    }
    flashed = _read_flash(request)
    if flashed:
        shared["flash"] = flashed
    response = templates.TemplateResponse(request, name, shared | context, status_code=status_code)
    if getattr(request.state, "set_cookie", False):
        set_session_cookie(response, current, settings=settings)
    if flashed:
        response.delete_cookie(FLASH_COOKIE, path=PREFIX)
    return response


def flash(response: Response, message: str) -> None:
    """A one-time confirmation shown on the next page (after a redirect, so a reload never repeats a POST)."""
    encoded = base64.urlsafe_b64encode(message.encode()).decode()
    response.set_cookie(FLASH_COOKIE, encoded, max_age=60, httponly=True, samesite="lax", path=PREFIX)


def _read_flash(request: Request) -> str | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        return base64.urlsafe_b64decode(raw.encode()).decode()[:300]
    except (ValueError, UnicodeDecodeError):
        return None


def set_session_cookie(response: Response, current: WebSession, *, settings: Settings) -> None:
    """Store the session in the browser: HttpOnly, SameSite=Lax, Secure behind https."""
    response.set_cookie(
        COOKIE,
        encode(current, secret=session_secret(settings)),
        httponly=True,
        samesite="lax",
        secure=settings.public_base_url.startswith("https://"),
        path="/",
    )
