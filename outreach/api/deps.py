"""Request dependencies: settings, the unit-of-work session, and who is calling."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, params
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine
from sqlmodel import Session

from outreach.auth import Principal, authenticate
from outreach.clinics.models import Role
from outreach.config import Settings
from outreach.db import reader, session_scope
from outreach.security import audit, ratelimit

_READS = frozenset({"GET", "HEAD"})
_bearer = HTTPBearer(auto_error=False, description="An outreach API key: `Authorization: Bearer ok_…`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The same key in X-API-Key")


# Async because they only read app state: a plain `def` dependency costs a hop to the thread pool.
async def get_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


async def get_engine(request: Request) -> Engine:
    """The app's database engine."""
    engine: Engine = request.app.state.engine
    return engine


def get_session(request: Request, engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Session]:
    """One unit of work per request: committed when the handler returns, rolled back if it raises.

    A GET only reads (and adds its audit row): it runs without a transaction, so no BEGIN/ROLLBACK
    round trips.
    """
    with session_scope(reader(engine) if request.method in _READS else engine) as session:
        yield session
        audit.record_request(request.scope, session)  # who read or changed which patient's data


# scope="function": the commit happens before the response is sent, so a 201 means the row is stored.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_principal(
    request: Request,
    session: SessionDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header_key: Annotated[str | None, Depends(_header)],
) -> Principal:
    """The caller's clinic and role; 401 when the key is missing, unknown or revoked (429 after many)."""
    presented = bearer.credentials if bearer else header_key
    if not presented:
        raise HTTPException(401, "missing API key", headers={"WWW-Authenticate": "Bearer"})
    ratelimit.check_authentication_allowed(request, presented=presented)
    principal = authenticate(session=session, presented=presented)
    if principal is None:
        ratelimit.note_failed_authentication(request, presented=presented)
        raise HTTPException(401, "unknown or revoked API key", headers={"WWW-Authenticate": "Bearer"})
    request.state.principal = principal  # the audit trail names who read or changed what
    return principal


def require_role(role: Role) -> params.Depends:
    """A dependency that lets only `role` through (403 for a valid key with another role)."""

    def _check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if principal.role != role:
            raise HTTPException(403, f"this route needs the {role.value} role")
        return principal

    dependency: params.Depends = Depends(_check)
    return dependency


PrincipalDep = Annotated[Principal, Depends(get_principal)]
