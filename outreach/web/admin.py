"""Clinic admin pages: patients with their language and consent."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from outreach.api.deps import SessionDep, SettingsDep
from outreach.clinics.models import Role
from outreach.i18n import negotiate
from outreach.patients import service as patients
from outreach.patients.models import ConsentStatus
from outreach.patients.search import search_patients
from outreach.web.deps import PREFIX, ViewerDep, render, role_required

router = APIRouter(prefix=f"{PREFIX}/admin", include_in_schema=False)
PAGE_SIZE = 50


@router.get("/patients", summary="Patients with language and consent")
def patients_page(
    request: Request,
    viewer: ViewerDep,
    db: SessionDep,
    settings: SettingsDep,
    language: str = "",
    consent: str = "",
    q: Annotated[str, Query(max_length=80)] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    role_required(viewer, Role.ADMIN)
    wanted = ConsentStatus(consent) if consent in set(ConsentStatus) else None
    window = {"limit": PAGE_SIZE + 1, "offset": (page - 1) * PAGE_SIZE}  # one extra row: is there a next page
    if q.strip():
        rows = search_patients(
            session=db,
            clinic_id=viewer.clinic.id,
            query=q,
            language=language.strip(),
            consent=wanted,
            **window,
        )
    else:
        rows = patients.list_patients(
            session=db,
            clinic_id=viewer.clinic.id,
            language=language.strip() or None,
            consent=wanted,
            **window,
        )
    default = viewer.clinic.default_language
    listed = [(p, negotiate(p.language, clinic_default=default)) for p in rows[:PAGE_SIZE]]
    context = {
        "viewer": viewer,
        "patients": listed,
        "filters": {"q": q.strip(), "language": language.strip(), "consent": wanted.value if wanted else ""},
        "consents": list(ConsentStatus),
        "page": page,
        "has_next": len(rows) > PAGE_SIZE,
    }
    return render(request, "patients.html", context, settings=settings)
