"""The funnel counts, grouped in the database: one statement per report, read from the outbox record.

Four levels, all in one SELECT: replies per text (when the first inbound text of each kind answered
it), then one row of 0/1 flags per text (each reply window compared once), then flags and sums per
patient (and per text group for `language_used` / `fallback`), then sums per group.
Figures are defined in `outreach/reports/figures.py`; this module only counts them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Interval, Select, and_, case, func, literal, literal_column, or_, select
from sqlalchemy.sql import Subquery
from sqlmodel import Session, col

from outreach.campaigns.models import Enrollment
from outreach.campaigns.planning import HELD_LANGUAGE
from outreach.inbox.models import InboundKind, InboundMessage
from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.patients.models import ConsentStatus, Patient
from outreach.reports.figures import FAILURE_GROUPS, FAILURE_OTHER
from outreach.reports.groups import NO_TEXT, PER_TEXT, Languages, as_text, key_expression

REPORT_WORK_MEM = "64MB"
# A condition on a patient-id column: restricts the per-text and per-patient levels to some patients
# (the stored summary's refresh recomputes only the patients whose texts or replies changed).
PatientFilter = Callable[[Any], ColumnElement[bool]]
HANDED_TO_CARRIER = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.FAILED, MessageStatus.UNKNOWN)


@dataclass(frozen=True, slots=True)
class Scope:
    """What a report covers: one campaign, or the clinic's texts whose send time is in [start, end)."""

    clinic_id: uuid.UUID
    campaign_id: uuid.UUID | None = None
    start: datetime | None = None
    end: datetime | None = None
    reply_days: int = 7

    def texts(self, table: Any) -> ColumnElement[bool]:
        """The condition on an outbox table (or alias) that picks this scope's texts."""
        clause: ColumnElement[bool] = table.clinic_id == self.clinic_id
        if self.campaign_id is not None:
            clause = and_(clause, table.campaign_id == self.campaign_id)
        if self.start is not None:
            clause = and_(clause, table.send_at >= self.start)
        if self.end is not None:
            clause = and_(clause, table.send_at < self.end)
        return clause


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def within_days(later: Any, earlier: Any, days: int, dialect: str) -> ColumnElement[bool]:
    """later ≤ earlier + days, on PostgreSQL and on SQLite (which stores times as ISO text)."""
    if dialect == "postgresql":
        window: ColumnElement[bool] = later <= earlier + literal(timedelta(days=days), Interval())
        return window
    return func.julianday(later) <= func.julianday(earlier) + days


REPLY_KINDS = ("any", "confirm", "cancel", "optout", "a1", "a2", "a3")


def replies_subquery(scope: Scope, among: PatientFilter | None = None) -> Subquery:
    """Per text the clinic's patients answered: when the first reply of each kind came.

    Read from the inbound texts alone (an answer names the text it answers); the reply window is applied
    where the text's own send time is at hand, so the outbox is read once.
    """
    i = InboundMessage.__table__.c  # type: ignore[attr-defined]

    def first(condition: ColumnElement[bool] | None) -> Any:
        return func.min(i.received_at if condition is None else case((condition, i.received_at)))

    checkin = i.kind == InboundKind.CHECKIN_ANSWER.value
    where = [i.clinic_id == scope.clinic_id, i.in_reply_to_id.is_not(None)]
    if among is not None:
        o = OutboundMessage.__table__.c  # type: ignore[attr-defined]
        where.append(i.in_reply_to_id.in_(select(o.id).where(scope.texts(o), among(o.patient_id))))
    return (
        select(
            i.in_reply_to_id.label("message_id"),
            first(None).label("first_any"),
            first(i.kind == InboundKind.CONFIRM.value).label("first_confirm"),
            first(i.kind == InboundKind.CANCEL_REQUEST.value).label("first_cancel"),
            first(i.kind == InboundKind.OPTOUT.value).label("first_optout"),
            *(first(and_(checkin, i.answer == n)).label(f"first_a{n}") for n in (1, 2, 3)),
        )
        .where(*where)
        .group_by(i.in_reply_to_id)
        .subquery("replies")
    )


def answered(replies: Subquery, kind: str, scope: Scope, dialect: str) -> ColumnElement[bool]:
    """The text got a reply of this kind (see REPLY_KINDS) within the scope's reply window."""
    return within_days(replies.c[f"first_{kind}"], col(OutboundMessage.sent_at), scope.reply_days, dialect)


def _failure_group(code: Any) -> ColumnElement[str]:
    whens = [(code.in_(codes), name) for name, codes in FAILURE_GROUPS.items()]
    return case(*whens, else_=FAILURE_OTHER)


def per_text_query(
    scope: Scope,
    *,
    by: str,
    languages: Languages,
    today: date,
    dialect: str,
    among: PatientFilter | None = None,
    summary_keys: bool = False,
) -> Select[Any]:
    """One row per text of the scope: its flags (0/1) and segments, each reply window compared once.

    `summary_keys`: every text group's key (`text_key_<dimension>`) and the patient's language tag too,
    so the stored summary's groupings are all grouped from one pass over the texts.
    """
    o = col
    r = replies_subquery(scope, among)

    status = o(OutboundMessage.status)
    sent = status.in_([s.value for s in HANDED_TO_CARRIER])
    replied = answered(r, "any", scope, dialect)
    failed = status == MessageStatus.FAILED.value
    held = and_(status == MessageStatus.HELD.value, o(OutboundMessage.error_reason).like(f"{HELD_LANGUAGE}%"))
    group_of_failure = _failure_group(o(OutboundMessage.error_code))
    keys: list[ColumnElement[Any]] = [o(OutboundMessage.patient_id).label("patient_id")]
    if by in PER_TEXT:
        keys.append(as_text(key_expression(by, languages=languages, today=today)).label("text_key"))
    if summary_keys:
        keys += [
            as_text(key_expression(d, languages=languages, today=today)).label(f"text_key_{d}")
            for d in sorted(PER_TEXT)
        ]
        keys.append(o(Patient.language).label("patient_language"))
    columns = [
        _flag(sent).label("sent"),
        _flag(or_(status == MessageStatus.DELIVERED.value, and_(sent, replied))).label("delivered"),
        _flag(held).label("held"),
        _flag(status == MessageStatus.SKIPPED.value).label("skipped"),
        _flag(replied).label("replied"),
        *(_flag(answered(r, kind, scope, dialect)).label(kind) for kind in REPLY_KINDS[1:]),
        _flag(and_(sent, o(OutboundMessage.language) != languages.own_catalog())).label("fallback"),
        _flag(failed).label("failed"),
        case((failed, group_of_failure)).label("failure_group"),
        case((sent, o(OutboundMessage.segments)), else_=0).label("segments"),
    ]
    query = (
        select(*keys, *columns)
        .select_from(OutboundMessage)
        .join(Patient, o(Patient.id) == o(OutboundMessage.patient_id))
        .outerjoin(languages.catalogs, languages.catalogs.c.tag == o(Patient.language))
        .outerjoin(r, r.c.message_id == o(OutboundMessage.id))
        .where(scope.texts(OutboundMessage.__table__.c))  # type: ignore[attr-defined]
    )
    if among is not None:
        query = query.where(among(o(OutboundMessage.patient_id)))
    if dialect == "postgresql":
        # Kept a level of its own: pulled up into the grouping above, each flag (and its reply window)
        # would be computed again in every aggregate that reads it.
        query = query.offset(0)
    return query


def per_text(
    scope: Scope,
    *,
    by: str,
    languages: Languages,
    today: date,
    dialect: str,
    among: PatientFilter | None = None,
) -> Subquery:
    """`per_text_query` as a subquery."""
    query = per_text_query(scope, by=by, languages=languages, today=today, dialect=dialect, among=among)
    return query.subquery("per_text")


def patient_level(t: Any, *, text_key: Any = None) -> Select[Any]:
    """Flags and sums per patient (and per text group, given the per-text rows' `text_key` column)."""
    keys: list[ColumnElement[Any]] = [t.c.patient_id]
    if text_key is not None:
        keys.append(text_key.label("text_key"))
    flags = ("sent", "delivered", "held", "skipped", "replied", *REPLY_KINDS[1:])
    names = {"confirm": "confirmed"}
    columns = [
        *(func.max(t.c[f]).label(names.get(f, f)) for f in flags),
        func.sum(t.c.sent).label("texts_sent"),
        func.sum(t.c.delivered).label("texts_delivered"),
        func.sum(t.c.fallback).label("texts_fallback"),
        func.sum(t.c.failed).label("texts_failed"),
        *(
            func.sum(_flag(t.c.failure_group == g)).label(f"failed_{g}")
            for g in (*FAILURE_GROUPS, FAILURE_OTHER)
        ),
        func.sum(t.c.segments).label("segments"),
    ]
    return select(*keys, *columns).group_by(*keys)


def per_patient(
    scope: Scope,
    *,
    by: str,
    languages: Languages,
    today: date,
    dialect: str,
    among: PatientFilter | None = None,
) -> Subquery:
    """Flags and sums per patient (and per text group when `by` belongs to texts)."""
    t = per_text(scope, by=by, languages=languages, today=today, dialect=dialect, among=among)
    level = patient_level(t, text_key=t.c.text_key if by in PER_TEXT else None)
    return level.subquery("per_patient")


def funnel_query(
    scope: Scope,
    *,
    by: str,
    languages: Languages,
    today: date,
    dialect: str,
    patient_rows: Subquery | None = None,
) -> Select[Any]:
    """One row per group: the group key, then every count of `figures.COUNTS` by name.

    `patient_rows` are the per-patient rows to group (the stored summary's); default: computed live.
    """
    t = patient_rows
    if t is None:
        t = per_patient(scope, by=by, languages=languages, today=today, dialect=dialect)
    if by in PER_TEXT:
        key: ColumnElement[Any] = func.coalesce(t.c.text_key, NO_TEXT)
    else:
        key = as_text(key_expression(by, languages=languages, today=today))
    none = t.c.patient_id.is_(None)
    granted = col(Patient.consent) == ConsentStatus.GRANTED.value
    good_number = col(Patient.undeliverable_reason).is_(None)

    def n(name: str) -> Any:
        return func.coalesce(t.c[name], 0)

    def total(condition: ColumnElement[bool]) -> Any:
        return func.count().filter(condition)

    def added(name: str) -> Any:
        return func.sum(t.c[name])  # a patient without texts adds nothing (SUM skips NULL)

    not_sent = and_(~none, n("sent") == 0)
    delivered = n("delivered") == 1
    counts = {
        "targeted": func.count(),
        "excluded": total(none),
        "excluded_consent": total(and_(none, ~granted)),
        "excluded_undeliverable": total(and_(none, granted, ~good_number)),
        "excluded_no_visit": total(and_(none, granted, good_number)),
        "held": total(and_(not_sent, n("held") == 1)),
        "skipped": total(and_(not_sent, n("held") == 0, n("skipped") == 1)),
        "waiting": total(and_(not_sent, n("held") == 0, n("skipped") == 0)),
        "sent": added("sent"),
        "delivered": added("delivered"),
        "not_delivered": total(and_(n("sent") == 1, ~delivered)),
        "replied": added("replied"),
        "confirmed": added("confirmed"),
        "cancel_requested": total(and_(n("cancel") == 1, n("confirmed") == 0)),
        "no_answer": total(and_(delivered, n("cancel") == 0, n("confirmed") == 0)),
        "answered_1": added("a1"),
        "answered_2": added("a2"),
        "answered_3_worse": added("a3"),
        "opted_out": added("optout"),
    }
    for name in ("texts_sent", "texts_delivered", "texts_fallback", "texts_failed", "segments"):
        counts[name] = added(name)
    for g in (*FAILURE_GROUPS, FAILURE_OTHER):
        counts[f"failed_{g}"] = added(f"failed_{g}")
    labelled = [key.label("group_key"), *(func.coalesce(v, 0).label(k) for k, v in counts.items())]
    if scope.campaign_id is not None:
        base = (
            select(*labelled)
            .select_from(Enrollment)
            .join(Patient, col(Patient.id) == col(Enrollment.patient_id))
            .outerjoin(t, t.c.patient_id == col(Enrollment.patient_id))
            .where(
                col(Enrollment.campaign_id) == scope.campaign_id, col(Patient.clinic_id) == scope.clinic_id
            )
        )
    else:
        base = select(*labelled).select_from(t).join(Patient, col(Patient.id) == t.c.patient_id)
    return base.group_by(literal_column("group_key")).order_by(literal_column("group_key"))


def tune_for_report(session: Session) -> None:
    """PostgreSQL settings for one report-sized statement, for this transaction only."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        # One aggregate row per patient with ~30 figures: at the default 4 MB PostgreSQL sorts them on
        # disk instead of hashing in memory. For this transaction only.
        conn.exec_driver_sql(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'")
        # Compiling this many expressions to machine code costs more than it saves on one run.
        conn.exec_driver_sql("SET LOCAL jit = off")


def count_groups(
    *,
    session: Session,
    scope: Scope,
    by: str,
    languages: Languages,
    today: date,
    patient_rows: Subquery | None = None,
) -> dict[str, dict[str, int]]:
    """Every group's counts, by group key (from `patient_rows` when given, else live)."""
    dialect = session.get_bind().dialect.name
    query = funnel_query(
        scope, by=by, languages=languages, today=today, dialect=dialect, patient_rows=patient_rows
    )
    tune_for_report(session)
    rows = session.connection().execute(query).mappings().all()
    return {str(row["group_key"]): {k: int(v) for k, v in row.items() if k != "group_key"} for row in rows}
