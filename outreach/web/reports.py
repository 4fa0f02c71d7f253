"""The Reports page: outcomes and equity by group, the weekly trend, and follow-up from a flagged group."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from outreach.api.deps import SessionDep, SettingsDep
from outreach.campaigns import service as campaigns
from outreach.clinics.models import Role
from outreach.db import utcnow
from outreach.errors import DomainError
from outreach.reports import figures, followup
from outreach.reports.build import outcome_report, report_trend
from outreach.reports.csv_out import to_csv
from outreach.reports.followup import FollowUpIn
from outreach.web import report_view
from outreach.web.deps import PREFIX, FormDep, PageError, ViewerDep, flash, render, role_required

router = APIRouter(prefix=f"{PREFIX}/admin/reports", include_in_schema=False)


def _day(value: str, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PageError(
            422, "That date cannot be read", f"{field}: '{value}' is not a date (YYYY-MM-DD)"
        ) from None


@router.get("", summary="Outcomes and equity report")
def reports_page(
    request: Request,
    viewer: ViewerDep,
    db: SessionDep,
    settings: SettingsDep,
    campaign_id: uuid.UUID | None = None,
    by: Annotated[str, Query(max_length=20)] = "language",
    date_from: Annotated[str, Query(alias="from", max_length=10)] = "",
    date_to: Annotated[str, Query(alias="to", max_length=10)] = "",
    format: Annotated[str, Query(max_length=4)] = "",
) -> Response:
    role_required(viewer, Role.ADMIN)
    start, end = _day(date_from, "from"), _day(date_to, "to")
    try:
        report = outcome_report(
            session=db, settings=settings, clinic_id=viewer.clinic.id, by=by, campaign_id=campaign_id,
            date_from=start, date_to=end, now=utcnow(),
        )  # fmt: skip
        trend = report_trend(
            session=db,
            settings=settings,
            clinic_id=viewer.clinic.id,
            date_from=start,
            date_to=end,
            now=utcnow(),
        )
    except DomainError as exc:
        raise PageError(exc.status_code, "This report cannot be made", exc.detail) from exc
    if format == "csv":
        return Response(to_csv(report), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="outcomes.csv"'})  # fmt: skip
    weeks, rows = report_view.trend_rows(trend)
    context = {
        "viewer": viewer,
        "nav": "reports",
        "report": report,
        "funnels": [report_view.funnel(report, g) for g in report.groups],
        "total": report_view.funnel(report, report.total),
        "dimensions": figures.DIMENSIONS,
        "counts": {f.name: f for f in figures.COUNTS},
        "journey_counts": {f.name: f for f in figures.JOURNEY_COUNTS},
        "rates": [r for r in figures.RATES if r.name in report.total.rates],
        "campaigns": campaigns.list_campaigns(session=db, clinic_id=viewer.clinic.id, limit=200, offset=0),
        "chosen": {"campaign_id": campaign_id, "by": by, "from": date_from, "to": date_to},
        "weeks": weeks,
        "trend": rows,
        "bar_width": report_view.BAR_WIDTH,
    }
    return render(request, "reports.html", context, settings=settings)


@router.post("/follow-up", summary="Make a follow-up list from a flagged group")
def follow_up_action(form: FormDep, viewer: ViewerDep, db: SessionDep, settings: SettingsDep) -> Response:
    role_required(viewer, Role.ADMIN)
    action, _, target = form.get("action", "").partition(":")
    try:
        data = FollowUpIn(
            campaign_id=form.get("campaign_id", ""),
            by=form.get("by", ""),
            group=form.get("group", ""),
            stage=form.get("stage", ""),
            action=action,
            target_campaign_id=target or None,
        )  # validated here: a bad form is a 422 page below
        key_id = viewer.session.key_id
        assert key_id is not None
        done = followup.follow_up(
            session=db, settings=settings, clinic_id=viewer.clinic.id, key_id=key_id, data=data, now=utcnow()
        )
    except ValidationError as exc:
        field = ".".join(str(p) for p in exc.errors()[0]["loc"])
        raise PageError(422, "That follow-up cannot be made", f"{field}: {exc.errors()[0]['msg']}") from exc
    except DomainError as exc:
        raise PageError(exc.status_code, "That follow-up cannot be made", exc.detail) from exc
    what = (
        f"{done.call_tasks} call tasks added to the coordinator queue"
        if done.action == "call_tasks"
        else f"{done.enrolled} patients enrolled"
    )
    response = RedirectResponse(
        f"{PREFIX}/admin/reports?campaign_id={data.campaign_id}&by={data.by}", status_code=303
    )
    flash(response, f"Follow-up for {done.group_label} ({followup.STAGE_NAMES[done.stage]}): {what}.")
    return response


def campaign_summary(
    *, db: SessionDep, settings: SettingsDep, clinic_id: uuid.UUID, campaign_id: uuid.UUID, draft: bool
) -> dict[str, object] | None:
    """The outcome summary a launched campaign's page shows (by patient language); None before launch."""
    if draft:
        return None
    report = outcome_report(
        session=db,
        settings=settings,
        clinic_id=clinic_id,
        by="language",
        campaign_id=campaign_id,
        now=utcnow(),
    )
    return {
        "report": report,
        "funnels": [report_view.funnel(report, g) for g in [*report.groups, report.total]],
        "bar_width": report_view.BAR_WIDTH,
    }
