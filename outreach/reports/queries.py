"""The funnel counts, grouped in the database: one statement per report, read from the outbox record.

Three levels, all in one SELECT: replies per text (the inbound texts that answered it within the reply
window), then flags and sums per patient (and per text group for `language_used` / `fallback`), then
sums per group. Figures are defined in `outreach/reports/figures.py`; this module only counts them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, literal_column, or_, select
from sqlalchemy.sql import Subquery
from sqlmodel import Session, col

from outreach.campaigns.models import Enrollment
from outreach.campaigns.planning import HELD_LANGUAGE
from outreach.inbox.models import InboundKind, InboundMessage
from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.patients.models import ConsentStatus, Patient
from outreach.reports.figures import FAILURE_GROUPS, FAILURE_OTHER
from outreach.reports.groups import NO_TEXT, PER_TEXT, Languages, as_text, key_expression

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
        return and_(later >= earlier, later <= earlier + func.make_interval(0, 0, 0, days))
    return and_(
        func.julianday(later) >= func.julianday(earlier),
        func.julianday(later) <= func.julianday(earlier) + days,
    )


def replies_subquery(scope: Scope, dialect: str) -> Subquery:
    """Per answered text of the scope: whether the patient replied, confirmed, asked to cancel, ..."""
    sent = OutboundMessage.__table__.alias("answered")  # type: ignore[attr-defined]
    i = InboundMessage.__table__.c  # type: ignore[attr-defined]
    kind_is = {k: _flag(i.kind == k.value) for k in InboundKind}
    answer_is = {n: _flag(and_(i.kind == InboundKind.CHECKIN_ANSWER.value, i.answer == n)) for n in (1, 2, 3)}
    return (
        select(
            i.in_reply_to_id.label("message_id"),
            func.max(kind_is[InboundKind.CONFIRM]).label("confirmed"),
            func.max(kind_is[InboundKind.CANCEL_REQUEST]).label("cancel"),
            func.max(kind_is[InboundKind.OPTOUT]).label("optout"),
            *(func.max(flag).label(f"a{n}") for n, flag in answer_is.items()),
        )
        .join(sent, sent.c.id == i.in_reply_to_id)
        .where(
            i.clinic_id == scope.clinic_id,
            scope.texts(sent.c),
            within_days(i.received_at, sent.c.sent_at, scope.reply_days, dialect),
        )
        .group_by(i.in_reply_to_id)
        .subquery("replies")
    )


def _failure_group(code: Any) -> ColumnElement[str]:
    whens = [(code.in_(codes), name) for name, codes in FAILURE_GROUPS.items()]
    return case(*whens, else_=FAILURE_OTHER)


def _per_patient(scope: Scope, *, by: str, languages: Languages, today: date, dialect: str) -> Subquery:
    """Flags and sums per patient (and per text group when `by` belongs to texts)."""
    o = col
    r = replies_subquery(scope, dialect)
    status = o(OutboundMessage.status)
    sent = status.in_([s.value for s in HANDED_TO_CARRIER])
    answered = r.c.message_id.is_not(None)
    delivered = or_(status == MessageStatus.DELIVERED.value, and_(sent, answered))
    failed = status == MessageStatus.FAILED.value
    held = and_(status == MessageStatus.HELD.value, o(OutboundMessage.error_reason).like(f"{HELD_LANGUAGE}%"))
    fallback = and_(sent, o(OutboundMessage.language) != languages.own_catalog())
    group_of_failure = _failure_group(o(OutboundMessage.error_code))
    keys: list[ColumnElement[Any]] = [o(OutboundMessage.patient_id).label("patient_id")]
    if by in PER_TEXT:
        keys.append(as_text(key_expression(by, languages=languages, today=today)).label("text_key"))
    columns = [
        func.max(_flag(sent)).label("sent"),
        func.max(_flag(delivered)).label("delivered"),
        func.max(_flag(held)).label("held"),
        func.max(_flag(status == MessageStatus.SKIPPED.value)).label("skipped"),
        func.max(_flag(answered)).label("replied"),
        func.max(func.coalesce(r.c.confirmed, 0)).label("confirmed"),
        func.max(func.coalesce(r.c.cancel, 0)).label("cancel"),
        func.max(func.coalesce(r.c.optout, 0)).label("optout"),
        *(func.max(func.coalesce(r.c[f"a{n}"], 0)).label(f"a{n}") for n in (1, 2, 3)),
        func.sum(_flag(sent)).label("texts_sent"),
        func.sum(_flag(delivered)).label("texts_delivered"),
        func.sum(_flag(fallback)).label("texts_fallback"),
        func.sum(_flag(failed)).label("texts_failed"),
        *(
            func.sum(_flag(and_(failed, group_of_failure == g))).label(f"failed_{g}")
            for g in (*FAILURE_GROUPS, FAILURE_OTHER)
        ),
        func.sum(case((sent, o(OutboundMessage.segments)), else_=0)).label("segments"),
    ]
    return (
        select(*keys, *columns)
        .select_from(OutboundMessage)
        .join(Patient, o(Patient.id) == o(OutboundMessage.patient_id))
        .outerjoin(r, r.c.message_id == o(OutboundMessage.id))
        .where(scope.texts(OutboundMessage.__table__.c))  # type: ignore[attr-defined]
        # By output name: a CASE with bound values, repeated, is not "the same expression" to PostgreSQL.
        .group_by(*(literal_column(k.name) for k in keys))
        .subquery("per_patient")
    )


def funnel_query(scope: Scope, *, by: str, languages: Languages, today: date, dialect: str) -> Select[Any]:
    """One row per group: the group key, then every count of `figures.COUNTS` by name."""
    t = _per_patient(scope, by=by, languages=languages, today=today, dialect=dialect)
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
        return func.sum(_flag(condition))

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
        "sent": func.sum(n("sent")),
        "delivered": func.sum(n("delivered")),
        "not_delivered": total(and_(n("sent") == 1, ~delivered)),
        "replied": func.sum(n("replied")),
        "confirmed": func.sum(n("confirmed")),
        "cancel_requested": total(and_(n("cancel") == 1, n("confirmed") == 0)),
        "no_answer": total(and_(delivered, n("cancel") == 0, n("confirmed") == 0)),
        "answered_1": func.sum(n("a1")),
        "answered_2": func.sum(n("a2")),
        "answered_3_worse": func.sum(n("a3")),
        "opted_out": func.sum(n("optout")),
    }
    for name in ("texts_sent", "texts_delivered", "texts_fallback", "texts_failed", "segments"):
        counts[name] = func.sum(n(name))
    for g in (*FAILURE_GROUPS, FAILURE_OTHER):
        counts[f"failed_{g}"] = func.sum(n(f"failed_{g}"))
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


def count_groups(
    *, session: Session, scope: Scope, by: str, languages: Languages, today: date
) -> dict[str, dict[str, int]]:
    """Every group's counts, by group key."""
    dialect = session.get_bind().dialect.name
    query = funnel_query(scope, by=by, languages=languages, today=today, dialect=dialect)
    rows = session.connection().execute(query).mappings().all()
    return {str(row["group_key"]): {k: int(v) for k, v in row.items() if k != "group_key"} for row in rows}
