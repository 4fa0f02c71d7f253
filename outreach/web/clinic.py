"""Clinic admin page: the clinic's id (what minting a key takes) and its settings."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from outreach.api.deps import SettingsDep
from outreach.clinics.models import Role
from outreach.web.deps import PREFIX, ViewerDep, render, role_required

router = APIRouter(prefix=f"{PREFIX}/admin", include_in_schema=False)


@router.get("/clinic", summary="The clinic's id and settings")
def clinic_page(request: Request, viewer: ViewerDep, settings: SettingsDep) -> HTMLResponse:
    role_required(viewer, Role.ADMIN)
    return render(request, "clinic.html", {"clinic": viewer.clinic}, settings=settings)
