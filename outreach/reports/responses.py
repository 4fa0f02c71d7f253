"""Coordinator response equity: how long each group of patients waits for a person, in the database.

For each thread with a patient (a campaign's threads, or those opened in the date range): the time from
the thread's opening to the first reply by a person, and to its resolution. Median and 90th percentile
by linear interpolation (PostgreSQL's percentile_cont; on SQLite, which has none, the same rule in
`stats.percentile` over the durations, read grouped and sorted by the database).
Groups with fewer than 11 threads show no figures.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal_column, select
from sqlmodel import Session, col

from outreach.inbox.models import Thread
from outreach.patients.models import Patient
from outreach.reports.groups import Languages, as_text, label
from outreach.reports.queries import Scope
from outreach.reports.schemas import ResponseTimes
from outreach.reports.stats import SMALL_CELL, percentile

DIMENSIONS = ("language", "interpreter")


def seconds_between(later: Any, earlier: Any, dialect: str) -> ColumnElement[Any]:
    """later − earlier in seconds."""
    if dialect == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def _threads(scope: Scope) -> ColumnElement[bool]:
    clause = and_(col(Thread.clinic_id) == scope.clinic_id, col(Thread.patient_id).is_not(None))
    if scope.campaign_id is not None:
        return and_(clause, col(Thread.campaign_id) == scope.campaign_id)
    if scope.start is not None:
        clause = and_(clause, col(Thread.opened_at) >= scope.start)
    if scope.end is not None:
        clause = and_(clause, col(Thread.opened_at) < scope.end)
    return clause


def _key(by: str, languages: Languages) -> ColumnElement[Any]:
    return as_text(languages.language() if by == "language" else languages.interpreter())


def _postgres(session: Session, scope: Scope, by: str, languages: Languages) -> list[dict[str, Any]]:
    first = seconds_between(col(Thread.first_response_at), col(Thread.opened_at), "postgresql")
    done = seconds_between(col(Thread.resolved_at), col(Thread.opened_at), "postgresql")
    query = (
        select(
            _key(by, languages).label("k"),
            func.count().label("threads"),
            func.count(col(Thread.first_response_at)).label("answered"),
            func.percentile_cont(0.5).within_group(first).label("first_median"),
            func.percentile_cont(0.9).within_group(first).label("first_p90"),
            func.count(col(Thread.resolved_at)).label("resolved"),
            func.percentile_cont(0.5).within_group(done).label("done_median"),
            func.percentile_cont(0.9).within_group(done).label("done_p90"),
        )
        .join(Patient, col(Patient.id) == col(Thread.patient_id))
        .where(_threads(scope))
        .group_by(literal_column("k"))
        .order_by(literal_column("k"))
    )
    return [dict(row) for row in session.connection().execute(query).mappings()]


def _sqlite(session: Session, scope: Scope, by: str, languages: Languages) -> list[dict[str, Any]]:
    first = seconds_between(col(Thread.first_response_at), col(Thread.opened_at), "sqlite")
    done = seconds_between(col(Thread.resolved_at), col(Thread.opened_at), "sqlite")
    query = (
        select(_key(by, languages).label("k"), first.label("first"), done.label("done"))
        .join(Patient, col(Patient.id) == col(Thread.patient_id))
        .where(_threads(scope))
        .order_by(literal_column("k"))
    )
    grouped: dict[str, list[tuple[float | None, float | None]]] = defaultdict(list)
    for k, f, d in session.connection().execute(query):
        grouped[str(k)].append((f, d))
    rows = []
    for k, pairs in grouped.items():
        firsts = sorted(f for f, _ in pairs if f is not None)
        dones = sorted(d for _, d in pairs if d is not None)
        rows.append(
            {"k": k, "threads": len(pairs), "answered": len(firsts), "resolved": len(dones),
             "first_median": percentile(firsts, 0.5), "first_p90": percentile(firsts, 0.9),
             "done_median": percentile(dones, 0.5), "done_p90": percentile(dones, 0.9)}
        )  # fmt: skip
    return rows


def _shown(count: int, value: float | None) -> float | None:
    return None if count < SMALL_CELL or value is None else round(float(value), 1)


def response_times(*, session: Session, scope: Scope, by: str, languages: Languages) -> list[ResponseTimes]:
    """Response and resolution times per group of patients (`by`: language or interpreter)."""
    run = _postgres if session.get_bind().dialect.name == "postgresql" else _sqlite
    out = []
    for row in run(session, scope, by, languages):
        threads, answered, resolved = int(row["threads"]), int(row["answered"]), int(row["resolved"])
        small = threads < SMALL_CELL
        out.append(
            ResponseTimes(
                key=str(row["k"]),
                label=label(by, str(row["k"])),
                threads=None if small else threads,
                answered=None if small or 0 < answered < SMALL_CELL else answered,
                first_reply_median_s=_shown(answered, row["first_median"]),
                first_reply_p90_s=_shown(answered, row["first_p90"]),
                resolved=None if small or 0 < resolved < SMALL_CELL else resolved,
                resolution_median_s=_shown(resolved, row["done_median"]),
                resolution_p90_s=_shown(resolved, row["done_p90"]),
            )
        )
    return out
