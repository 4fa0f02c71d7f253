"""Clinic admin routes: campaigns."""

from __future__ import annotations

from fastapi import APIRouter

from outreach.api.deps import require_role
from outreach.clinics.models import Role

router = APIRouter(prefix="/admin", tags=["campaigns"], dependencies=[require_role(Role.ADMIN)])
