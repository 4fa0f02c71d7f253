"""Clinic admin page: every text the clinic sent or scheduled, filtered, with reasons, and its CSV."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from outreach.api.deps import SessionDep, SettingsDep
from outreach.campaigns import service as campaigns
from outreach.clinics.models import Role
from outreach.messaging import search
from outreach.messaging.models import MessageStatus
from outreach.web.deps import PREFIX, PageError, Viewer, ViewerDep, render, role_required

router = APIRouter(prefix=f"{PREFIX}/admin", include_in_schema=False)
PAGE_SIZE = 100
EXPORT_LIMIT = 50_000
FILTERS = ("status", "kind", "campaign", "since", "until", "page")


def _refuse_unknown(request: Request) -> None:
    """A misspelt filter is refused, not silently ignored (the list would look filtered and is not)."""
    for name in request.query_params:
        if name not in FILTERS:
            raise PageError(
                422, "Unknown filter", f"'{name}' is not a filter here; use {', '.join(FILTERS)}."
            )


def _date(value: str, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PageError(422, "Not a date", f"{name}: '{value}' is not a date (YYYY-MM-DD).") from None


def _filter(status: str, kind: str, campaign: str, since: str, until: str) -> search.MessageFilter:
    if status and status not in set(MessageStatus):
        raise PageError(
            422, "Unknown status", f"status: '{status}' is not one of {', '.join(MessageStatus)}."
        )
    if kind and kind not in search.KINDS:
        raise PageError(422, "Unknown kind", f"kind: '{kind}' is not one of {', '.join(search.KINDS)}.")
    try:
        campaign_id = uuid.UUID(campaign) if campaign else None
    except ValueError:
        raise PageError(422, "Unknown campaign", f"campaign: '{campaign}' is not a campaign id.") from None
    return search.MessageFilter(
        status=MessageStatus(status) if status else None, kind=kind or None, campaign_id=campaign_id,
        since=_date(since, "since"), until=_date(until, "until"),
    )  # fmt: skip


Text = Annotated[str, Query(max_length=64)]


@router.get("/messages", summary="Texts, filtered by status, kind, campaign and date")
def messages_page(
    request: Request, viewer: ViewerDep, db: SessionDep, settings: SettingsDep, status: Text = "",
    kind: Text = "", campaign: Text = "", since: Text = "", until: Text = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:  # fmt: skip
    role_required(viewer, Role.ADMIN)
    _refuse_unknown(request)
    wanted = _filter(status, kind, campaign, since, until)
    chosen = {"status": status, "kind": kind, "campaign": campaign, "since": since, "until": until}
    rows = search.find_messages(
        session=db, clinic_id=viewer.clinic.id, wanted=wanted, tz=viewer.clinic.timezone,
        limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE,
    )  # fmt: skip
    context: dict[str, Any] = {
        "viewer": viewer,
        "messages": rows[:PAGE_SIZE],
        "has_next": len(rows) > PAGE_SIZE,
        "page": page,
        "chosen": chosen,
        "statuses": list(MessageStatus),
        "kinds": search.KINDS,
        "campaigns": _campaigns(db, viewer),
        "query": urlencode({k: v for k, v in chosen.items() if v}),
    }
    return render(request, "messages.html", context, settings=settings)


def _campaigns(db: Any, viewer: Viewer) -> list[Any]:
    return campaigns.list_campaigns(session=db, clinic_id=viewer.clinic.id, limit=200, offset=0)


@router.get("/messages.csv", summary="The filtered texts as CSV")
def messages_csv(
    request: Request, viewer: ViewerDep, db: SessionDep, status: Text = "", kind: Text = "",
    campaign: Text = "", since: Text = "", until: Text = "",
) -> Response:  # fmt: skip
    role_required(viewer, Role.ADMIN)
    _refuse_unknown(request)
    wanted = _filter(status, kind, campaign, since, until)
    rows = search.find_messages(
        session=db, clinic_id=viewer.clinic.id, wanted=wanted, tz=viewer.clinic.timezone,
        limit=EXPORT_LIMIT, offset=0,
    )  # fmt: skip
    headers = {"Content-Disposition": 'attachment; filename="texts.csv"'}
    return Response(search.to_csv(rows), media_type="text/csv; charset=utf-8", headers=headers)
