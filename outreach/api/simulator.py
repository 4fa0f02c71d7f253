"""The simulator's phones: what each demo number received (only with the simulator gateway)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from sqlmodel import col, select

from outreach.api.deps import SessionDep, SettingsDep
from outreach.sms.models import SimulatedSms

router = APIRouter(prefix="/simulator", tags=["simulator"])


@router.get("/phones", summary="Texts received by each simulated phone")
def phones(session: SessionDep, settings: SettingsDep) -> dict[str, list[dict[str, Any]]]:
    if settings.gateway != "simulator":
        raise HTTPException(404, "the simulator is off (OUTREACH_GATEWAY is not simulator)")
    rows = session.exec(select(SimulatedSms).order_by(col(SimulatedSms.created_at)).limit(1000)).all()
    inbox: dict[str, list[dict[str, Any]]] = {}
    for sms in rows:
        inbox.setdefault(sms.to, []).append(
            {"sid": sms.provider_sid, "body": sms.body, "received_at": sms.created_at.isoformat()}
        )
    return inbox
