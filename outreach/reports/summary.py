"""The stored per-patient summary of a campaign's outcome report, refreshed from the record.

A campaign's report groups per-patient rows (level 3 of `queries.py`) by a dimension. For a large
campaign those rows cost seconds to compute from every text and reply, so they are stored in
`report_patient_summary` by an INSERT ... SELECT of the very statement the live report runs
(`queries.per_patient`), and the report groups the stored rows instead (`summary_read.py`).

Kept fresh from the record, never by counting up: a refresh recomputes the patients whose texts changed
(the outbox's `updated_at`, indexed by campaign) or got a reply (the inbound `received_at`) since the last
refresh, less `OVERLAP` (a transaction that stamped its rows before the last refresh may have committed
after it), and patients whose language changed since (their `updated_at`; the fallback flags depend on
it); it deletes and re-inserts their rows in one transaction.
A refresh holds the campaign's state row locked, so two refreshes of a campaign never overlap.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ARRAY,
    Uuid,
    and_,
    any_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    literal_column,
    select,
    union_all,
)
from sqlalchemy import union as sql_union
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, text
from sqlmodel import select as select_one

from outreach.inbox.models import InboundMessage
from outreach.messaging.models import OutboundMessage
from outreach.patients.models import Patient
from outreach.reports.groups import PER_TEXT, clinic_languages, clinic_of
from outreach.reports.models import ReportPatientSummary, ReportSummaryState
from outreach.reports.queries import PatientFilter, Scope, patient_level, per_text_query, tune_for_report

# Stored groupings: '' is one row per patient (every dimension that belongs to patients); the dimensions
# that belong to texts have rows per patient and text group.
GROUPINGS: tuple[str, ...] = ("", *sorted(PER_TEXT))
OVERLAP = timedelta(minutes=15)
# A refresh that would recompute more patients than this share of the campaign rebuilds it whole.
FULL_SHARE = 0.5


def grouping_of(by: str) -> str:
    """The stored grouping a report by `by` reads."""
    return by if by in PER_TEXT else ""


def among(session: Session, ids: Sequence[uuid.UUID]) -> PatientFilter:
    """`column` is one of `ids`: one parameter however many (an array on PostgreSQL, JSON on SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        values: Any = bindparam("patients", list(ids), type_=ARRAY(Uuid()))
        return lambda column: column == any_(values)
    packed: Any = bindparam("patients", json.dumps([i.hex for i in ids]))
    listed: Any = select(literal_column("value")).select_from(func.json_each(packed))
    return lambda column: column.in_(listed)


@dataclass(frozen=True, slots=True)
class Refreshed:
    """What a refresh did: how many patients it recomputed, whether it rebuilt the whole campaign."""

    campaign_id: uuid.UUID
    patients: int
    full: bool
    computed_at: datetime


def state_of(session: Session, campaign_id: uuid.UUID) -> ReportSummaryState | None:
    """The campaign's summary state (None: never built)."""
    return session.get(ReportSummaryState, campaign_id)


def _lock_state(
    session: Session, *, clinic_id: uuid.UUID, campaign_id: uuid.UUID, reply_days: int
) -> ReportSummaryState | None:
    """The state row, created if missing and locked for this transaction; None when a refresh holds it."""
    dialect = session.get_bind().dialect.name
    upsert: Any = pg_insert if dialect == "postgresql" else sqlite_insert
    # On SQLite this write also takes the database's write lock: another refresh waits behind it.
    session.execute(
        upsert(ReportSummaryState)
        .values(campaign_id=campaign_id, clinic_id=clinic_id, reply_days=reply_days, patients=0)
        .on_conflict_do_nothing(index_elements=["campaign_id"])
    )
    return session.exec(
        select_one(ReportSummaryState)
        .where(col(ReportSummaryState.campaign_id) == campaign_id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).first()


def changed_patients(
    session: Session,
    *,
    clinic_id: uuid.UUID,
    campaign_id: uuid.UUID,
    since: datetime,
    limit: int | None = None,
) -> list[uuid.UUID]:
    """Patients of the campaign whose texts changed or got a reply at or after `since`, or whose language
    changed since and is no longer the one their stored rows were computed with."""
    o, i = OutboundMessage.__table__.c, InboundMessage.__table__.c  # type: ignore[attr-defined]
    s, p = ReportPatientSummary.__table__.c, Patient.__table__.c  # type: ignore[attr-defined]
    texts = select(o.patient_id).where(o.campaign_id == campaign_id, o.updated_at >= since)
    replied = (
        select(o.patient_id)
        .select_from(InboundMessage.__table__)  # type: ignore[attr-defined]
        .join(OutboundMessage.__table__, o.id == i.in_reply_to_id)  # type: ignore[attr-defined]
        .where(i.clinic_id == clinic_id, i.received_at >= since, o.campaign_id == campaign_id)
    )
    # Every path that changes a patient's language stamps updated_at.
    moved = (
        select(p.id)
        .join(
            ReportPatientSummary.__table__,  # type: ignore[attr-defined]
            and_(s.campaign_id == campaign_id, s.grouping == "", s.patient_id == p.id),
        )
        .where(p.clinic_id == clinic_id, p.updated_at >= since, s.patient_language != p.language)
    )
    parts = [texts, replied, moved]
    query: Any = sql_union(*parts)
    if limit is not None:
        query = select(query.subquery().c[0]).limit(limit)
    return [uuid.UUID(str(row[0])) for row in session.execute(query)]


def _insert_rows(
    session: Session, *, scope: Scope, now: datetime, among_patients: PatientFilter | None
) -> None:
    """INSERT ... SELECT the live per-patient rows of every grouping (of some patients, or all), grouped
    from one pass over the texts and their replies."""
    clinic = clinic_of(session, scope.clinic_id)
    languages = clinic_languages(session=session, clinic=clinic)
    dialect = session.get_bind().dialect.name
    texts = per_text_query(scope, by="language", languages=languages, today=now.date(), dialect=dialect,
                           among=among_patients, summary_keys=True)  # fmt: skip
    # Read once per grouping: computed once (SQLite materializes a CTE read more than once by itself).
    t = texts.cte("per_text").prefix_with("MATERIALIZED", dialect="postgresql")
    s = ReportPatientSummary.__table__.c  # type: ignore[attr-defined]
    fixed: dict[str, Any] = {
        "campaign_id": literal(scope.campaign_id, Uuid()),
        "clinic_id": literal(scope.clinic_id, Uuid()),
        "reply_days": literal(scope.reply_days),
        "computed_at": literal(now, s.computed_at.type),
    }
    parts, targets = [], []
    for grouping in GROUPINGS:
        level = patient_level(t, text_key=t.c[f"text_key_{grouping}"] if grouping else None)
        rows = level.add_columns(func.max(t.c.patient_language).label("patient_language")).subquery()
        measured = [c.name for c in rows.c if c.name not in ("patient_id", "text_key", "patient_language")]
        named = {
            **fixed,
            "grouping": literal(grouping),
            "text_key": rows.c.text_key if grouping else literal(""),
            "patient_language": rows.c.patient_language,
        }
        parts.append(select(rows.c.patient_id, *named.values(), *(rows.c[n] for n in measured)))
        targets = [s.patient_id, *(s[n] for n in named), *(s[n] for n in measured)]
    session.execute(insert(ReportPatientSummary).from_select(targets, union_all(*parts)))


def _stored(campaign_id: uuid.UUID) -> Any:
    rows = ReportPatientSummary.__table__.c  # type: ignore[attr-defined]
    return rows, (
        delete(ReportPatientSummary)
        .where(rows.campaign_id == campaign_id)
        .execution_options(synchronize_session=False)  # no stored row is ever loaded as an object
    )


def _rebuild(session: Session, *, scope: Scope, state: ReportSummaryState, now: datetime) -> None:
    """Every stored row of the campaign deleted and inserted again."""
    rows, gone = _stored(state.campaign_id)
    session.execute(gone)
    _insert_rows(session, scope=scope, now=now, among_patients=None)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE report_patient_summary"))  # its size just changed wholesale
    patients = select(func.count()).where(rows.campaign_id == state.campaign_id, rows.grouping == "")
    state.patients, state.full_built_at = int(session.execute(patients).scalar_one()), now


def _recompute(
    session: Session, *, scope: Scope, state: ReportSummaryState, ids: list[uuid.UUID], now: datetime
) -> None:
    """These patients' stored rows deleted and inserted again."""
    rows, gone = _stored(state.campaign_id)
    chosen = among(session, ids)
    theirs = select(func.count()).where(
        rows.campaign_id == state.campaign_id, rows.grouping == "", chosen(rows.patient_id)
    )
    before = int(session.execute(theirs).scalar_one())
    session.execute(gone.where(chosen(rows.patient_id)))  # by the primary key: (campaign, patient, …)
    _insert_rows(session, scope=scope, now=now, among_patients=chosen)
    state.patients += int(session.execute(theirs).scalar_one()) - before


def refresh(
    *,
    session: Session,
    clinic_id: uuid.UUID,
    campaign_id: uuid.UUID,
    reply_days: int,
    now: datetime,
    full: bool = False,
) -> Refreshed | None:
    """Recompute the campaign's stored rows that changed since its last refresh (all of them when `full`,
    when never built, or built with another reply window); None when another refresh holds it."""
    state = _lock_state(session, clinic_id=clinic_id, campaign_id=campaign_id, reply_days=reply_days)
    if state is None:
        return None
    full = full or state.computed_at is None or state.reply_days != reply_days
    ids: list[uuid.UUID] = []
    if not full:
        assert state.computed_at is not None
        since = state.computed_at - OVERLAP
        ids = changed_patients(session, clinic_id=clinic_id, campaign_id=campaign_id, since=since)
        full = len(ids) > max(1000, state.patients * FULL_SHARE)
    tune_for_report(session)
    scope = Scope(clinic_id=clinic_id, campaign_id=campaign_id, reply_days=reply_days)
    if full:
        _rebuild(session, scope=scope, state=state, now=now)
    elif ids:
        _recompute(session, scope=scope, state=state, ids=ids, now=now)
    state.reply_days, state.computed_at = reply_days, now
    session.add(state)
    session.flush()
    return Refreshed(campaign_id=campaign_id, patients=state.patients if full else len(ids), full=full,
                     computed_at=now)  # fmt: skip
