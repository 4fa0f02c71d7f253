"""`GET /metrics`: Prometheus metrics, for the operator's scraper only (see observability.exposition)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from outreach.api.deps import EngineDep, SettingsDep
from outreach.observability.exposition import allowed, render

router = APIRouter(tags=["operations"])


@router.get("/metrics", summary="Prometheus metrics (token or allowed address only)", include_in_schema=False)
def metrics(request: Request, settings: SettingsDep, engine: EngineDep) -> Response:
    host = request.client.host if request.client else None
    if not allowed(settings, client_host=host, authorization=request.headers.get("authorization", "")):
        raise HTTPException(
            403, "metrics: a valid OUTREACH_METRICS_TOKEN bearer token or an allowed address is needed"
        )
    return Response(render(engine), media_type=CONTENT_TYPE_LATEST)
