"""Recording patients' events (from the API, an import or the FHIR import) and what they start.

`record_patient_events` is the one entry point for every source: it resolves each event's patient within
the clinic, records the new events (the same patient, kind and moment once, however often it comes, also
from two imports at once) and starts the journeys the clinic's rules call for, set-based: a few
statements per batch whatever its size. It flushes; the caller commits.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Table, select
from sqlalchemy.dialects import sqlite
from sqlmodel import Session, col

from outreach.db import time_ordered_id, utcnow
from outreach.journeys import series
from outreach.journeys.enroll import enroll_events
from outreach.journeys.models import EventKind, PatientEvent
from outreach.journeys.schemas import RecordReport
from outreach.patients.models import Patient

_ID_CHUNK = 5000  # patients looked up per statement (SQLite's bound-parameter limit)
_event: Table = PatientEvent.__table__  # type: ignore[attr-defined]  # SQLModel sets it on table models


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One event to record: its patient (by id, or by the clinic's MRN), kind and moment."""

    kind: EventKind
    occurred_at: datetime
    patient_id: uuid.UUID | None = None
    external_id: str | None = None  # the patient's MRN, when the source does not know our id
    location: str | None = None
    visit_type: str | None = None
    source: str = "api"


def _resolve(
    session: Session, clinic_id: uuid.UUID, events: Sequence[EventRecord]
) -> tuple[list[uuid.UUID | None], list[str]]:
    """Each event's patient id within the clinic (None when not found), and the errors by position."""
    ids = sorted({e.patient_id for e in events if e.patient_id is not None})
    mrns = sorted({e.external_id for e in events if e.patient_id is None and e.external_id})
    known: set[uuid.UUID] = set()
    by_mrn: dict[str, uuid.UUID] = {}
    mine = col(Patient.clinic_id) == clinic_id
    for start in range(0, len(ids), _ID_CHUNK):
        part = ids[start : start + _ID_CHUNK]
        query = select(col(Patient.id)).where(mine, series.among(session, col(Patient.id), part))
        known.update(session.execute(query).scalars())
    for start in range(0, len(mrns), _ID_CHUNK):
        part_mrns = mrns[start : start + _ID_CHUNK]
        query2 = select(col(Patient.external_id), col(Patient.id)).where(
            mine, col(Patient.external_id).in_(part_mrns)
        )
        by_mrn.update({mrn: pid for mrn, pid in session.execute(query2).all()})  # noqa: C416
    found: list[uuid.UUID | None] = []
    errors: list[str] = []
    for n, event in enumerate(events):
        pid = event.patient_id if event.patient_id in known else by_mrn.get(event.external_id or "")
        if event.patient_id is not None and event.patient_id not in known:
            pid = None
        if pid is None:
            errors.append(f"events.{n}: patient not found in this clinic")
        elif event.occurred_at.tzinfo is None:
            pid = None
            errors.append(f"events.{n}.occurred_at: needs a time zone offset")
        found.append(pid)
    return found, errors


_COLUMNS = ("id", "clinic_id", "patient_id", "kind", "occurred_at", "location", "visit_type", "source",
            "created_at", "updated_at")  # fmt: skip
_TYPES = ("uuid", "uuid", "uuid", "text", "timestamptz", "text", "text", "text", "timestamptz", "timestamptz")
# PostgreSQL: the whole batch as one binary array per column, one statement however many events.
_UNNEST = (
    f"INSERT INTO patient_event ({', '.join(_COLUMNS)}) "  # noqa: S608  (constant names, no input)
    f"SELECT * FROM unnest({', '.join(f'%b::{t}[]' for t in _TYPES)}) "
    "ON CONFLICT DO NOTHING RETURNING id"
)


def _insert(session: Session, rows: list[dict[str, object]]) -> list[uuid.UUID]:
    """Insert the events not recorded yet; return the ids of those inserted (duplicates do nothing)."""
    if not rows:
        return []
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        with raw.cursor() as cursor:  # type: ignore[union-attr]
            columns = [[row[name] for row in rows] for name in _COLUMNS]
            cursor.execute(_UNNEST, columns, binary=True)  # binary arrays both ways: nothing quoted or parsed
            return [row[0] for row in cursor.fetchall()]
    conn.execute(sqlite.insert(_event).on_conflict_do_nothing(), rows)
    ids = [row["id"] for row in rows]
    inserted: list[uuid.UUID] = []
    for start in range(0, len(ids), _ID_CHUNK):
        query = select(_event.c.id).where(_event.c.id.in_(ids[start : start + _ID_CHUNK]))
        inserted.extend(conn.execute(query).scalars())
    return inserted


def record_patient_events(
    session: Session, clinic_id: uuid.UUID, events: Sequence[EventRecord], *, now: datetime | None = None
) -> RecordReport:
    """Record a clinic's patient events and start the journeys its rules call for (flushes, no commit)."""
    now = now or utcnow()
    patients, errors = _resolve(session, clinic_id, events)
    rows: list[dict[str, object]] = [
        {
            "id": time_ordered_id(),
            "clinic_id": clinic_id,
            "patient_id": pid,
            "kind": event.kind.value,
            "occurred_at": event.occurred_at.astimezone(UTC),
            "location": event.location,
            "visit_type": event.visit_type,
            "source": event.source[:40],
            "created_at": now,
            "updated_at": now,
        }
        for event, pid in zip(events, patients, strict=True)
        if pid is not None
    ]
    new = _insert(session, rows)
    started, restarted, excluded = enroll_events(session, new, now) if new else (0, 0, Counter())
    session.flush()
    return RecordReport(
        recorded=len(new),
        duplicates=len(rows) - len(new),
        journeys_started=started,
        journeys_restarted=restarted,
        not_enrolled=dict(excluded),
        errors=errors,
        event_ids=new,
    )
