"""Who may drive the phone simulator: a key of the clinic it acts for, or a signed-in web session.

The simulator shows patients' texts and injects replies as a patient, so it is scoped like any other
patient data: a caller sees and speaks for its own clinic's patients only. It is refused outright in
production and whenever the Twilio gateway sends real texts.
"""

from __future__ import annotations

import time
import uuid
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from outreach.api.deps import SessionDep, SettingsDep
from outreach.auth import authenticate
from outreach.clinics.models import ApiKey
from outreach.config import Settings
from outreach.security.ratelimit import check_authentication_allowed, note_failed_authentication
from outreach.web.sessions import COOKIE, decode, session_secret

_bearer = HTTPBearer(auto_error=False, description="An outreach API key of the clinic the simulator acts for")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The same key in X-API-Key")


def simulator_enabled(settings: Settings) -> bool:
    """The simulator runs only in dev with the simulator gateway."""
    return settings.env != "production" and settings.gateway == "simulator"


def _from_cookie(request: Request, session: Session, settings: Settings) -> uuid.UUID | None:
    raw = request.cookies.get(COOKIE, "")
    signed = decode(raw, secret=session_secret(settings), now=int(time.time())) if raw else None
    if signed is None or signed.key_id is None or signed.clinic_id is None:
        return None
    key = session.get(ApiKey, signed.key_id)
    if key is None or key.revoked_at is not None or key.clinic_id != signed.clinic_id:
        return None
    return key.clinic_id


def simulator_clinic(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header_key: Annotated[str | None, Depends(_header)],
) -> uuid.UUID:
    """The clinic the caller acts for; 404 when the simulator is off, 401 without a valid key or session."""
    if not simulator_enabled(settings):
        raise HTTPException(404, "the simulator is off (production, or OUTREACH_GATEWAY is not simulator)")
    presented = bearer.credentials if bearer else header_key
    if presented:
        check_authentication_allowed(request, presented=presented)
        principal = authenticate(session=session, presented=presented)
        if principal is None:
            note_failed_authentication(request, presented=presented)
            raise HTTPException(401, "unknown or revoked API key", headers={"WWW-Authenticate": "Bearer"})
        return principal.clinic_id
    clinic_id = _from_cookie(request, session, settings)
    if clinic_id is None:
        raise HTTPException(
            401,
            "the simulator needs a key of its clinic (or a signed-in web session)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return clinic_id


SimulatorClinic = Annotated[uuid.UUID, Depends(simulator_clinic)]
