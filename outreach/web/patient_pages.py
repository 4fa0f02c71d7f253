"""Clinic admin pages: one patient (details, consent ledger, visits, every text both ways), adding and
changing a patient, and importing a CSV from the page with a report per line."""

from __future__ import annotations

import hmac
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from outreach.api.deps import SessionDep, SettingsDep
from outreach.clinics.models import Clinic, Role
from outreach.db import utcnow
from outreach.errors import DomainError, Invalid
from outreach.patients import importing, timeline
from outreach.patients import service as patients
from outreach.patients.models import ConsentStatus
from outreach.patients.schemas import ConsentIn, PatientCreate, PatientUpdate
from outreach.web.deps import (
    PREFIX,
    FormDep,
    PageError,
    Viewer,
    ViewerDep,
    flash,
    render,
    role_required,
    web_session,
)

router = APIRouter(prefix=f"{PREFIX}/admin/patients", include_in_schema=False)
MAX_UPLOAD_BYTES = 5_000_000
_FIELDS = ("external_id", "given_name", "family_name", "phone", "language", "timezone")


def _invalid(exc: ValidationError) -> Invalid:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "form"
    return Invalid(where, str(first["msg"]).removeprefix("Value error, "))


def _form_page(
    request: Request, viewer: Viewer, settings: Any, values: dict[str, str], *, patient_id: uuid.UUID | None,
    error: Invalid | None = None,
) -> HTMLResponse:  # fmt: skip
    context = {
        "viewer": viewer,
        "values": values,
        "patient_id": patient_id,
        "error": {"field": error.field, "reason": error.reason} if error else None,
    }
    return render(request, "patient_form.html", context, settings=settings, status_code=422 if error else 200)


@router.get("/new", summary="Add a patient")
def new_page(request: Request, viewer: ViewerDep, settings: SettingsDep) -> HTMLResponse:
    role_required(viewer, Role.ADMIN)
    return _form_page(request, viewer, settings, {"language": "en"}, patient_id=None)


@router.post("/new", summary="Add a patient from the form")
def create(
    request: Request, form: FormDep, viewer: ViewerDep, db: SessionDep, settings: SettingsDep
) -> Response:
    role_required(viewer, Role.ADMIN)
    values = {k: form.get(k, "").strip() for k in (*_FIELDS, "consent", "consent_source")}
    try:
        consent = None
        if values["consent"] in {ConsentStatus.GRANTED, ConsentStatus.REVOKED}:
            source = values["consent_source"] or "entered by clinic staff"
            consent = ConsentIn(status=ConsentStatus(values["consent"]), source=source)
        fields = {k: values[k] for k in _FIELDS if values[k]}
        data = PatientCreate.model_validate({**fields, "consent": consent})
        clinic = db.get_one(Clinic, viewer.clinic.id)
        patient = patients.create_patient(session=db, clinic=clinic, data=data, now=utcnow())
    except ValidationError as exc:
        return _form_page(request, viewer, settings, values, patient_id=None, error=_invalid(exc))
    except Invalid as exc:
        db.rollback()
        return _form_page(request, viewer, settings, values, patient_id=None, error=exc)
    except DomainError as exc:
        db.rollback()
        return _form_page(
            request, viewer, settings, values, patient_id=None, error=Invalid("form", exc.detail)
        )
    response = RedirectResponse(f"{PREFIX}/admin/patients/{patient.id}", status_code=303)
    flash(response, "Patient added.")
    return response


async def checked_upload(request: Request, settings: SettingsDep) -> tuple[bytes, str]:
    """The uploaded file's bytes and name once the form's CSRF token matches the session's."""
    form = await request.form(max_files=1, max_fields=5)
    current = web_session(request, settings)
    sent = form.get("csrf_token")
    if not isinstance(sent, str) or getattr(request.state, "set_cookie", False):
        sent = ""
    if not hmac.compare_digest(sent, current.csrf):
        raise PageError(403, "This form has expired", "Go back, reload the page and try again.")
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        raise PageError(422, "No file chosen", "Choose a CSV file (with a header row) to import.")
    data = await upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise PageError(
            413, "File too large", f"Import at most {MAX_UPLOAD_BYTES // 1_000_000} MB at a time."
        )
    return data, upload.filename


@router.post("/import", summary="Import patients from a CSV file")
def import_csv(
    request: Request, upload: Annotated[tuple[bytes, str], Depends(checked_upload)], viewer: ViewerDep,
    db: SessionDep, settings: SettingsDep,
) -> HTMLResponse:  # fmt: skip
    role_required(viewer, Role.ADMIN)
    data, name = upload
    try:
        records = importing.parse_upload(data, json_file=False)
    except (Invalid, UnicodeDecodeError) as exc:
        reason = exc.reason if isinstance(exc, Invalid) else f"is not UTF-8 text (byte {exc.start})"
        raise PageError(422, "The file cannot be read", f"{name}: {reason}") from exc
    clinic = db.get_one(Clinic, viewer.clinic.id)
    report = importing.import_records(session=db, clinic=clinic, records=records, now=utcnow())
    context = {"viewer": viewer, "report": report, "file_name": name}
    return render(request, "import_report.html", context, settings=settings)


def _patient_or_404(db: Session, viewer: Viewer, patient_id: uuid.UUID) -> Any:
    try:
        return patients.get_patient(session=db, clinic_id=viewer.clinic.id, patient_id=patient_id)
    except DomainError as exc:
        raise PageError(404, "Patient not found", "This clinic has no such patient.") from exc


@router.get("/{patient_id}", summary="One patient: details, consent, visits and every text")
def patient_page(
    request: Request, patient_id: uuid.UUID, viewer: ViewerDep, db: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    role_required(viewer, Role.ADMIN)
    patient = _patient_or_404(db, viewer, patient_id)
    clinic_id = viewer.clinic.id
    context = {
        "viewer": viewer,
        "patient": patient,
        "consents": patients.consent_history(session=db, clinic_id=clinic_id, patient_id=patient_id),
        "visits": patients.list_appointments(session=db, clinic_id=clinic_id, patient_id=patient_id),
        "entries": timeline.patient_timeline(session=db, clinic_id=clinic_id, patient_id=patient_id),
    }
    return render(request, "patient.html", context, settings=settings)


@router.get("/{patient_id}/edit", summary="Change a patient")
def edit_page(
    request: Request, patient_id: uuid.UUID, viewer: ViewerDep, db: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    role_required(viewer, Role.ADMIN)
    patient = _patient_or_404(db, viewer, patient_id)
    values = {k: str(getattr(patient, k) or "") for k in _FIELDS}
    return _form_page(request, viewer, settings, values, patient_id=patient_id)


@router.post("/{patient_id}/edit", summary="Save a patient's changes")
def edit(
    request: Request, patient_id: uuid.UUID, form: FormDep, viewer: ViewerDep, db: SessionDep,
    settings: SettingsDep,
) -> Response:  # fmt: skip
    role_required(viewer, Role.ADMIN)
    patient = _patient_or_404(db, viewer, patient_id)
    values = {k: form.get(k, "").strip() for k in _FIELDS} | {"external_id": patient.external_id}
    try:
        data = PatientUpdate.model_validate({k: values[k] for k in _FIELDS[1:]})
        clinic = db.get_one(Clinic, viewer.clinic.id)
        patients.update_patient(session=db, clinic=clinic, patient_id=patient_id, data=data, now=utcnow())
    except ValidationError as exc:
        return _form_page(request, viewer, settings, values, patient_id=patient_id, error=_invalid(exc))
    except Invalid as exc:
        db.rollback()
        return _form_page(request, viewer, settings, values, patient_id=patient_id, error=exc)
    response = RedirectResponse(f"{PREFIX}/admin/patients/{patient_id}", status_code=303)
    flash(response, "Changes saved.")
    return response
