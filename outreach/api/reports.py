"""Clinic admin routes: the outcome and equity report (JSON or CSV), its weekly trend, and follow-up lists."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal, get_args

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from outreach.api.deps import PrincipalDep, SessionDep, SettingsDep, require_role
from outreach.api.strict_query import refuse_unknown_query
from outreach.clinics.models import Role
from outreach.db import utcnow
from outreach.reports import figures, followup
from outreach.reports.build import outcome_report, report_trend
from outreach.reports.csv_out import to_csv
from outreach.reports.followup import FollowUpIn, FollowUpOut
from outreach.reports.schemas import ReportOut, WeekCell

router = APIRouter(
    prefix="/admin/reports", tags=["reports"], dependencies=[require_role(Role.ADMIN), refuse_unknown_query]
)

By = Literal[
    "language", "language_used", "fallback", "interpreter", "age_band", "sex", "race", "ethnicity", "postal3"
]
assert set(get_args(By)) == set(figures.DIMENSIONS)  # one list of dimensions
From = Annotated[date | None, Query(alias="from", description="first day (clinic time), inclusive")]
To = Annotated[date | None, Query(alias="to", description="day after the last (clinic time), exclusive")]


def wants_csv(request: Request, format: str | None) -> bool:
    """CSV when asked by `format=csv` or an Accept header naming text/csv."""
    if format is not None:
        return format == "csv"
    return "text/csv" in request.headers.get("accept", "")


@router.get(
    "/outcomes",
    summary="Outcome and equity report by group (JSON, or CSV with Accept: text/csv or format=csv)",
    response_model=ReportOut,
    responses={200: {"content": {"text/csv": {}}}},
)
def outcomes(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    campaign_id: uuid.UUID | None = None,
    date_from: From = None,
    date_to: To = None,
    by: By = "language",
    format: Annotated[Literal["json", "csv"] | None, Query()] = None,
) -> Response | ReportOut:
    report = outcome_report(
        session=session,
        settings=settings,
        clinic_id=principal.clinic_id,
        by=by,
        campaign_id=campaign_id,
        date_from=date_from,
        date_to=date_to,
        now=utcnow(),
    )
    if wants_csv(request, format):
        name = f"outcomes-{campaign_id or 'clinic'}-by-{by}.csv"
        return Response(
            to_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return report


@router.get("/outcomes/trend", summary="Delivered and confirmed rates by week and patient language")
def trend(
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    date_from: From = None,
    date_to: To = None,
) -> list[WeekCell]:
    return report_trend(
        session=session,
        settings=settings,
        clinic_id=principal.clinic_id,
        date_from=date_from,
        date_to=date_to,
        now=utcnow(),
    )


@router.post(
    "/outcomes/follow-up", summary="Enroll a group's unreached patients, or queue them as call tasks"
)
def follow_up(
    data: FollowUpIn, session: SessionDep, settings: SettingsDep, principal: PrincipalDep
) -> FollowUpOut:
    return followup.follow_up(
        session=session,
        settings=settings,
        clinic_id=principal.clinic_id,
        key_id=principal.key_id,
        data=data,
        now=utcnow(),
    )


@router.get("/outcomes/follow-up", summary="The follow-up list of one group (names; audited)")
def follow_up_list(
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    campaign_id: uuid.UUID,
    by: By,
    group: Annotated[str, Query(min_length=1, max_length=48)],
    stage: followup.Stage = "not_delivered",
) -> FollowUpOut:
    data = FollowUpIn(campaign_id=campaign_id, by=by, group=group, stage=stage, action="call_tasks")
    return followup.listed(
        session=session,
        settings=settings,
        clinic_id=principal.clinic_id,
        key_id=principal.key_id,
        data=data,
        now=utcnow(),
    )
