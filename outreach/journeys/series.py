"""Writing journeys' texts: the window chunk the launch worker runs, and the rows a change path plans.

A journey's texts go through the campaign's `Planner` like any check-in (quiet hours in the patient's
zone, language negotiation, the past skipped and never sent late), timed from the journey's `anchor_at`.
`Journey.planned_until` is the target time up to which a journey's rows are written: a window writes
[max(window start, planned_until), window end) and moves it, a change path writes up to the launch's
written horizon and moves it, so no path writes a target twice.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfoNotFoundError

from sqlalchemy import (
    ColumnElement,
    Executable,
    Uuid,
    and_,
    any_,
    bindparam,
    or_,
    true,
    update,
)
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlmodel import Session, col

from outreach.campaigns.enrollment import can_text
from outreach.campaigns.launch import COLUMNS as OUTBOX_COLUMNS
from outreach.campaigns.launch import COPY_TYPES as OUTBOX_TYPES
from outreach.campaigns.launch import write_rows as launch_write_rows
from outreach.campaigns.models import CampaignStatus, CampaignStep
from outreach.campaigns.planning import Planner, Recipient
from outreach.campaigns.service import PAUSED
from outreach.campaigns.windows import Window
from outreach.journeys.models import Journey, JourneyStatus
from outreach.messaging.models import MessageStatus
from outreach.patients.models import Patient

_SLACK = timedelta(days=2)  # a check-in's UTC moment is within a day of its local date, either way
COLUMNS = (*OUTBOX_COLUMNS, "journey_id")
_COPY_TYPES = (*OUTBOX_TYPES, "uuid")


def among(session: Session, column: Any, ids: Sequence[uuid.UUID]) -> ColumnElement[bool]:
    """`column` is one of `ids`: one array parameter on PostgreSQL, an IN list elsewhere."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=ARRAY(Uuid())))  # type: ignore[no-any-return]
    return column.in_(list(ids))  # type: ignore[no-any-return]


def spans(steps: Sequence[CampaignStep]) -> list[tuple[timedelta, timedelta]]:
    """For every send of the series, how long after the event its target can be (earliest, latest)."""
    found = []
    for step in steps:
        if step.offset_minutes is not None:
            found.append((timedelta(minutes=step.offset_minutes),) * 2)
            continue
        for n in range(step.times or 1):
            day = timedelta(days=(step.first_after_days or 0) + (step.every_days or 0) * n)
            found.append((day - _SLACK, day + _SLACK))
    return found


def _who(row: Sequence[Any]) -> Recipient:
    """A journey's recipient from (patient id, name, language, zone, journey id, anchor)."""
    return Recipient(row[0], row[1], row[2], row[3], journey_id=row[4], anchor_at=row[5])


def _fields() -> list[Any]:
    return [
        col(Patient.id), col(Patient.given_name), col(Patient.language), col(Patient.timezone),
        col(Journey.id), col(Journey.anchor_at), col(Journey.planned_until),
    ]  # fmt: skip


def _window_query(planner: Planner, window: Window, chunk: int) -> Executable:
    """Active journeys of textable patients with a send possibly in the window and not yet written."""
    anchor = col(Journey.anchor_at)
    ranges = [
        and_(anchor < window.end - lo, true() if window.start is None else anchor > window.start - hi)
        for lo, hi in spans(planner.steps)
    ]
    until = col(Journey.planned_until)
    return (
        sa_select(*_fields())
        .join(Patient, col(Patient.id) == col(Journey.patient_id))
        .where(
            col(Journey.campaign_id) == planner.campaign.id,
            col(Journey.status) == JourneyStatus.ACTIVE,
            or_(until.is_(None), until < window.end),
            or_(*ranges),
            can_text(),
        )
        .order_by(col(Journey.id))
        .limit(chunk)
    )


def _rows(
    planner: Planner,
    batch: Iterable[Sequence[Any]],
    start: datetime | None,
    end: datetime,
    *,
    resume: bool = True,
) -> Iterator[dict[str, Any]]:
    """The rows of each journey whose targets fall in [`start`, `end`), or from its planned_until when
    that is later (`resume`: a window; a journey just started is planned from its beginning)."""
    paused = planner.campaign.status == CampaignStatus.PAUSED
    soonest = min((lo for lo, _ in spans(planner.steps)), default=timedelta(0))
    for row in batch:
        if row[5] + soonest >= end:
            continue  # nothing of this series is due before the end: a later window writes it
        later = resume and row[6] is not None and (start is None or row[6] > start)
        since = row[6] if later else start
        try:
            planned = list(planner.rows_between(_who(row), since, end))
        except ZoneInfoNotFoundError:  # a zone stored before validation: one patient, not the journey's run
            continue
        for fresh in planned:
            if paused and fresh["status"] == MessageStatus.SCHEDULED.value:
                fresh.update(status=MessageStatus.HELD.value, error_reason=PAUSED)
            yield fresh


def _mark(session: Session, journey_ids: Sequence[uuid.UUID], until: datetime) -> None:
    """The journeys' rows before `until` are written."""
    if journey_ids:
        session.execute(
            update(Journey).where(among(session, col(Journey.id), journey_ids)).values(planned_until=until)
        )


def window_chunk(
    session: Session, planner: Planner, window: Window, chunk: int
) -> tuple[Counter[str], int, bool]:
    """Write one chunk of a journey campaign's window; (outcomes, journeys planned, whether more remain).

    No cursor is needed: a journey written in this window has `planned_until` at its end, so the next
    chunk's query no longer finds it.
    """
    batch = list(session.connection().execute(_window_query(planner, window, chunk)))
    tally = write_rows(session.connection(), _rows(planner, batch, window.start, window.end))
    _mark(session, [row[4] for row in batch], window.end)
    return tally, len(batch), len(batch) == chunk


def plan_until(
    session: Session,
    planner: Planner,
    journey_ids: Sequence[uuid.UUID],
    until: datetime,
    *,
    mark: bool = True,
) -> Counter[str]:
    """Write the given journeys' rows with targets before `until` (a launch's written horizon).

    `mark=False` when the journeys already carry `planned_until = until` (set as they were inserted).
    """
    if not journey_ids:
        return Counter()
    query = (
        sa_select(*_fields())
        .join(Patient, col(Patient.id) == col(Journey.patient_id))
        .where(among(session, col(Journey.id), journey_ids), can_text())
        .where(col(Journey.status) == JourneyStatus.ACTIVE)
    )
    batch = list(session.connection().execute(query))
    tally = write_rows(session.connection(), _rows(planner, batch, None, until, resume=mark))
    if mark:
        _mark(session, [row[4] for row in batch], until)
    return tally


def write_rows(conn: Connection, rows: Iterable[dict[str, Any]]) -> Counter[str]:
    """Append journey rows (with their journey) through the launch's bulk writer."""
    return launch_write_rows(conn, rows, columns=COLUMNS, types=_COPY_TYPES)
