"""Clinic admin pages: the clinic's own template library, with missing and stale translations flagged."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from outreach import i18n
from outreach.api.deps import SessionDep, SettingsDep
from outreach.campaigns import authoring
from outreach.clinics.models import Clinic, Role
from outreach.db import utcnow
from outreach.errors import DomainError, Invalid
from outreach.i18n import provenance
from outreach.library import service as library
from outreach.web.deps import PREFIX, FormDep, PageError, Viewer, ViewerDep, flash, render, role_required

router = APIRouter(prefix=f"{PREFIX}/admin/templates", include_in_schema=False)


def _wanted(db: Session, clinic: Clinic) -> list[str]:
    """The languages a clinic's templates should have: the source, then those its patients speak."""
    spoken = authoring.patients_by_language(
        session=db, clinic_id=clinic.id, clinic_default=clinic.default_language
    )
    source = library.source_language(clinic)
    return [source, *(lang for lang, _ in spoken.most_common() if lang in i18n.SUPPORTED and lang != source)]


@router.get("", summary="The clinic's template library")
def library_page(request: Request, viewer: ViewerDep, db: SessionDep, settings: SettingsDep) -> HTMLResponse:
    role_required(viewer, Role.ADMIN)
    wanted = _wanted(db, viewer.clinic)
    context = {
        "viewer": viewer,
        "templates": library.library(session=db, clinic=viewer.clinic, wanted=wanted),
        "source": library.source_language(viewer.clinic),
        "catalogs": [
            (provenance.status(tag), i18n.review_notice(tag)) for tag in wanted if tag in i18n.SUPPORTED
        ],
        "require_reviewed": viewer.clinic.require_reviewed_translations,
    }
    return render(request, "library.html", context, settings=settings)


def _edit_context(db: Session, viewer: Viewer, name: str, typed: dict[str, str] | None) -> dict[str, Any]:
    wanted = _wanted(db, viewer.clinic)
    try:
        found: library.LibraryTemplate | None = library.get_template(
            session=db, clinic=viewer.clinic, name=name
        )
    except DomainError:
        found = None
    saved = {t.language: t for t in found.texts} if found else {}
    languages = [*wanted, *(lang for lang in saved if lang not in wanted)]
    return {
        "viewer": viewer,
        "name": name,
        "template": found,
        "saved": saved,
        "typed": typed or {},
        "languages": languages,
        "other_languages": [lang for lang in i18n.SUPPORTED if lang not in languages],
        "source": library.source_language(viewer.clinic),
        "error": None,
    }


@router.get("/edit", summary="Write or change a library template")
def edit_page(
    request: Request, viewer: ViewerDep, db: SessionDep, settings: SettingsDep, name: str = ""
) -> HTMLResponse:
    role_required(viewer, Role.ADMIN)
    return render(
        request, "library_edit.html", _edit_context(db, viewer, name.strip(), None), settings=settings
    )


@router.post("/edit", summary="Save a library template's texts")
def save(
    request: Request, form: FormDep, viewer: ViewerDep, db: SessionDep, settings: SettingsDep
) -> Response:
    role_required(viewer, Role.ADMIN)
    name = form.get("name", "").strip()
    typed = {
        lang: form.get(f"body_{lang}", "") for lang in i18n.SUPPORTED if form.get(f"body_{lang}", "").strip()
    }
    clinic = db.get_one(Clinic, viewer.clinic.id)
    source = library.source_language(clinic)
    now = utcnow()
    try:
        if source not in typed:
            raise Invalid(
                f"body.{source}", "the source text must not be empty: translations are checked against it"
            )
        # The source first: a translation saved in the same form is as new as the source it was written from.
        for lang in sorted(typed, key=lambda lang: lang != source):
            library.save_text(session=db, clinic=clinic, name=name, language=lang, body=typed[lang], now=now)
    except Invalid as exc:
        db.rollback()  # nothing half-written
        context = _edit_context(db, viewer, name, typed) | {
            "error": {"field": exc.field, "reason": exc.reason}
        }
        return render(request, "library_edit.html", context, settings=settings, status_code=422)
    response = RedirectResponse(f"{PREFIX}/admin/templates", status_code=303)
    flash(response, f"Saved “{name}”.")
    return response


@router.post("/confirm", summary="Confirm a stale translation still says what the source says")
def confirm(form: FormDep, viewer: ViewerDep, db: SessionDep) -> Response:
    role_required(viewer, Role.ADMIN)
    name, language = form.get("name", ""), form.get("language", "")
    try:
        library.confirm_current(session=db, clinic=viewer.clinic, name=name, language=language, now=utcnow())
    except DomainError as exc:
        raise PageError(404, "Not found", "This template has no text in that language.") from exc
    response = RedirectResponse(f"{PREFIX}/admin/templates", status_code=303)
    flash(response, f"The {authoring.i18n_name(language)} text of “{name}” is marked current.")
    return response
