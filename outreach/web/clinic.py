"""Clinic admin page: the clinic's id (what minting a key takes), its staffed hours and program name."""

from __future__ import annotations

from datetime import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from outreach import i18n
from outreach.api.deps import SessionDep, SettingsDep
from outreach.clinics import service as clinics
from outreach.clinics.models import Clinic, Role
from outreach.clinics.texts import program_name_for
from outreach.errors import Invalid
from outreach.web.deps import PREFIX, FormDep, ViewerDep, flash, render, role_required

router = APIRouter(prefix=f"{PREFIX}/admin", include_in_schema=False)
WEEKDAYS = [("1", "Mon"), ("2", "Tue"), ("3", "Wed"), ("4", "Thu"), ("5", "Fri"), ("6", "Sat"), ("7", "Sun")]


def _context(clinic: Clinic, error: Invalid | None = None) -> dict[str, Any]:
    shown = {
        lang: program_name_for(name=clinic.program_name, names=None, language=lang) for lang in i18n.SUPPORTED
    }
    return {
        "clinic": clinic,
        "weekdays": WEEKDAYS,
        "languages": [lang for lang in i18n.SUPPORTED if lang != "en"],
        "default_names": shown,
        "error": {"field": error.field, "reason": error.reason} if error else None,
    }


@router.get("/clinic", summary="The clinic's id and settings")
def clinic_page(request: Request, viewer: ViewerDep, db: SessionDep, settings: SettingsDep) -> HTMLResponse:
    role_required(viewer, Role.ADMIN)
    clinic = db.get_one(Clinic, viewer.clinic.id)
    return render(request, "clinic.html", _context(clinic), settings=settings)


def _time(value: str, field: str) -> time | None:
    if not value:
        return None
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise Invalid(field, f"'{value}' is not a time (HH:MM)") from None


@router.post("/clinic", summary="Save staffed hours and the program name per language")
def save(
    request: Request, form: FormDep, viewer: ViewerDep, db: SessionDep, settings: SettingsDep
) -> Response:
    role_required(viewer, Role.ADMIN)
    days = "".join(d for d, _ in WEEKDAYS if form.get(f"day_{d}"))
    names = {lang: form.get(f"program_{lang}", "") for lang in i18n.SUPPORTED if f"program_{lang}" in form}
    try:
        start = _time(form.get("staffed_start", ""), "staffed_start")
        end = _time(form.get("staffed_end", ""), "staffed_end")
        clinics.set_staffed_hours(session=db, clinic_id=viewer.clinic.id, start=start, end=end, days=days)
        clinics.set_program_names(session=db, clinic_id=viewer.clinic.id, names=names)
    except Invalid as exc:
        db.rollback()
        clinic = db.get_one(Clinic, viewer.clinic.id)
        return render(request, "clinic.html", _context(clinic, exc), settings=settings, status_code=422)
    response = RedirectResponse(f"{PREFIX}/admin/clinic", status_code=303)
    flash(response, "Clinic settings saved.")
    return response
