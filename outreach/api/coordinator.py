"""Care-coordinator routes: the reply queue."""

from __future__ import annotations

from fastapi import APIRouter

from outreach.api.deps import require_role
from outreach.clinics.models import Role

router = APIRouter(prefix="/coordinator", tags=["coordinator"], dependencies=[require_role(Role.COORDINATOR)])
