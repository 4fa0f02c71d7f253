"""The clinic-wide weekly trend: delivered and confirmed rates by patient language, grouped in SQL.

Per week (Monday to Sunday, UTC, by each text's send time) and patient language: texts sent, texts
delivered (or answered), and of delivered reminder texts those the patient confirmed within the reply
window. A cell whose count is 1 to 10 shows no count and no rate.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal_column, or_, select
from sqlmodel import Session, col

from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.patients.models import Patient
from outreach.reports.groups import Languages, as_text, label
from outreach.reports.queries import HANDED_TO_CARRIER, Scope, answered, replies_subquery
from outreach.reports.schemas import WeekCell
from outreach.reports.stats import is_small


def week_of(moment: Any, dialect: str) -> ColumnElement[Any]:
    """The Monday of a timestamp's week, as YYYY-MM-DD text."""
    if dialect == "postgresql":
        return func.to_char(func.date_trunc("week", func.timezone("UTC", moment)), "YYYY-MM-DD")
    return func.date(moment, "-6 days", "weekday 1")


def _sum(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


def weekly_trend(*, session: Session, scope: Scope, languages: Languages) -> list[WeekCell]:
    """Delivered and confirmed rates per week and language."""
    dialect = session.get_bind().dialect.name
    r = replies_subquery(scope)
    status = col(OutboundMessage.status)
    sent = status.in_([s.value for s in HANDED_TO_CARRIER])
    delivered = or_(status == MessageStatus.DELIVERED.value, and_(sent, answered(r, "any", scope, dialect)))
    reminder = col(OutboundMessage.kind) == "reminder"
    query = (
        select(
            week_of(col(OutboundMessage.send_at), dialect).label("week"),
            as_text(languages.language()).label("k"),
            _sum(sent).label("sent"),
            _sum(delivered).label("delivered"),
            _sum(and_(delivered, reminder)).label("reminders"),
            _sum(and_(delivered, reminder, answered(r, "confirm", scope, dialect))).label("confirmed"),
        )
        .join(Patient, col(Patient.id) == col(OutboundMessage.patient_id))
        .outerjoin(r, r.c.message_id == col(OutboundMessage.id))
        .where(scope.texts(OutboundMessage.__table__.c), sent)  # type: ignore[attr-defined]
        .group_by(literal_column("week"), literal_column("k"))
        .order_by(literal_column("week"), literal_column("k"))
    )
    cells = []
    for row in session.connection().execute(query).mappings():
        n, d, rem, conf = (int(row[c]) for c in ("sent", "delivered", "reminders", "confirmed"))
        # A count and a rate give the difference too: that must not be a small cell either.
        hide_sent = is_small(n) or is_small(d) or is_small(n - d)
        hide_rem = is_small(rem) or is_small(conf) or is_small(rem - conf)
        cells.append(
            WeekCell(
                week=date.fromisoformat(str(row["week"])[:10]),
                key=str(row["k"]),
                label=label("language", str(row["k"])),
                texts_sent=None if hide_sent else n,
                delivered_rate=None if hide_sent or not n else d / n,
                reminders_delivered=None if hide_rem else rem,
                confirmed_rate=None if hide_rem or not rem else conf / rem,
            )
        )
    return cells
