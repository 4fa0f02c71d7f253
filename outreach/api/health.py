"""Liveness and readiness: is the database there, is the broker there."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlmodel import Session

from outreach.api.deps import SettingsDep
from outreach.broker import broker_reachable
from outreach.db import engine_for

router = APIRouter(tags=["health"])


@router.get("/health", summary="Database and broker reachability")
def health(settings: SettingsDep) -> JSONResponse:
    try:
        with Session(engine_for(settings.database_url)) as session:
            session.execute(text("SELECT 1"))
        database = "ok"
    except Exception as exc:  # reported, not raised: this endpoint exists to say what is down
        database = f"unreachable ({type(exc).__name__})"
    broker_ok, broker_reason = broker_reachable(settings)
    broker = "ok" if broker_ok else f"unreachable ({broker_reason})"
    ok = database == "ok" and broker_ok
    body = {
        "status": "ok" if ok else "degraded",
        "database": database,
        "broker": broker,
        "gateway": settings.gateway,
    }
    return JSONResponse(status_code=200 if ok else 503, content=body)
