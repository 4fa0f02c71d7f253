"""Where a report's per-patient rows come from: the stored summary (`summary.py`) or the live query.

A campaign's report with the reply window the summary was built with reads the stored rows. Before
it does, it asks whether any of the campaign's texts changed or got a reply since the summary was
computed (index probes, and the clinic's patients changed since): none, and the summary is current;
a few, and they are refreshed first, in this request; more, and the stored rows are shown as of when
they were computed (the periodic refresh brings them up to date). Everything else is live: a clinic's
date range, another reply window, and campaigns with no summary yet (small ones never get one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.sql import Subquery
from sqlmodel import Session

from outreach.reports.groups import Languages
from outreach.reports.models import ReportPatientSummary
from outreach.reports.queries import Scope, count_groups
from outreach.reports.summary import changed_patients, grouping_of, refresh, state_of

# Changed patients a report request refreshes itself before showing the summary (a few milliseconds).
ON_DEMAND_PATIENTS = 2_000


@dataclass(frozen=True, slots=True)
class Counted:
    """Every group's counts, and when the per-patient rows they were grouped from were computed
    (None: computed now, by the live query)."""

    rows: dict[str, dict[str, int]]
    computed_at: datetime | None


def stored_rows(scope: Scope, *, by: str) -> Subquery:
    """The campaign's stored per-patient rows, with the names and shape of `queries.per_patient`."""
    s = ReportPatientSummary.__table__.c  # type: ignore[attr-defined]
    grouping = grouping_of(by)
    skip = {"campaign_id", "grouping", "clinic_id", "patient_language", "reply_days", "computed_at"}
    if not grouping:
        skip.add("text_key")
    columns = [c for c in s if c.name not in skip]
    return (
        select(*columns)
        .where(s.campaign_id == scope.campaign_id, s.clinic_id == scope.clinic_id, s.grouping == grouping)
        .subquery("per_patient")
    )


def _summary_usable(session: Session, scope: Scope, now: datetime) -> datetime | None:
    """When the campaign's stored rows were computed, refreshing a few changed patients first; None when
    the report must be computed live."""
    if scope.campaign_id is None or scope.start is not None or scope.end is not None:
        return None
    state = state_of(session, scope.campaign_id)
    if state is None or state.computed_at is None or state.reply_days != scope.reply_days:
        return None
    changed = changed_patients(
        session,
        clinic_id=scope.clinic_id,
        campaign_id=scope.campaign_id,
        since=state.computed_at,
        limit=ON_DEMAND_PATIENTS + 1,
    )
    if not changed or len(changed) > ON_DEMAND_PATIENTS:
        return state.computed_at
    done = refresh(
        session=session,
        clinic_id=scope.clinic_id,
        campaign_id=scope.campaign_id,
        reply_days=scope.reply_days,
        now=now,
    )
    return state.computed_at if done is None else done.computed_at


def report_counts(
    *, session: Session, scope: Scope, by: str, languages: Languages, now: datetime, live: bool = False
) -> Counted:
    """Every group's counts: from the stored summary where it serves (see the module docstring)."""
    computed_at = None if live else _summary_usable(session, scope, now)
    rows = count_groups(
        session=session,
        scope=scope,
        by=by,
        languages=languages,
        today=now.date(),
        patient_rows=stored_rows(scope, by=by) if computed_at is not None else None,
    )
    return Counted(rows=rows, computed_at=computed_at)
