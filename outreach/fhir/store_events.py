"""Patient events from FHIR resources: a finished Encounter's discharge, a fulfilled Appointment's visit.

An event from FHIR is found by its FHIR link (clinic, source, resource type, id; the link's local row is
the event), so the same resource twice is one event, and a changed one changes the event it recorded
through the journeys' change path (`outreach.journeys.changes`): a new moment re-plans its journeys'
unsent texts, a withdrawn resource (cancelled, entered-in-error) deletes the event and ends them. New
events go through `outreach.journeys.events.record_patient_events`, which starts the journeys the clinic's
rules call for; a resource whose moment the patient already has an event of that kind at (from the API
or a file) is linked to that event, not doubled. An event deleted in outreach stays deleted.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from outreach.errors import Conflict
from outreach.fhir.models import FhirLink
from outreach.fhir.schemas import ImportSummary, Outcome
from outreach.fhir.store_patients import Link, _link, links, many, write
from outreach.journeys import changes
from outreach.journeys.events import EventRecord, record_patient_events
from outreach.journeys.models import EventKind, PatientEvent
from outreach.journeys.schemas import PatientEventCorrection

HISTORY_DAYS = 90
FULFILLED_LINK = "Appointment:fulfilled"  # an Appointment's own link is to the visit; this one, its event
SOURCE = "fhir"  # the events' source as the patient's event list shows it
_KINDS = {"Encounter": "a discharge", FULFILLED_LINK: "a fulfilled visit"}


@dataclass(frozen=True, slots=True)
class SourceEvent:
    """An event a FHIR resource says happened (`occurred_at` None: the resource withdraws it)."""

    link_type: str  # "Encounter" or FULFILLED_LINK
    fhir_id: str
    version_id: str | None
    fhir_status: str
    patient_id: uuid.UUID
    kind: EventKind
    occurred_at: datetime | None
    location: str | None
    visit_type: str | None


@dataclass(frozen=True, slots=True)
class EventOutcome:
    """What became of one resource's event: created, updated, unchanged, skipped or rejected (why)."""

    outcome: Outcome
    reason: str = ""


def record_source_events(
    *,
    session: Session,
    clinic_id: uuid.UUID,
    source: str,
    batch: Sequence[SourceEvent],
    now: datetime,
    summary: ImportSummary,
) -> dict[str, EventOutcome]:
    """Record, correct or withdraw each resource's event; return each one's outcome by FHIR id."""
    known: dict[tuple[str, str], Link] = {}
    for link_type in sorted({e.link_type for e in batch}):
        ids = [e.fhir_id for e in batch if e.link_type == link_type]
        found = links(session, clinic_id=clinic_id, source=source, resource_type=link_type, fhir_ids=ids)
        known.update({(link_type, fhir_id): link for fhir_id, link in found.items()})
    results: dict[str, EventOutcome] = {}
    fresh = [e for e in batch if (e.link_type, e.fhir_id) not in known]
    _record_new(session, clinic_id, source, fresh, now, summary, results)
    linked = [(e, known[(e.link_type, e.fhir_id)]) for e in batch if (e.link_type, e.fhir_id) in known]
    _follow(session, clinic_id, linked, now, summary, results)
    return results


def _record_new(
    session: Session,
    clinic_id: uuid.UUID,
    source: str,
    fresh: list[SourceEvent],
    now: datetime,
    summary: ImportSummary,
    results: dict[str, EventOutcome],
) -> None:
    history = now - timedelta(days=HISTORY_DAYS)
    for e in fresh:
        if e.occurred_at is None:
            reason = f"status '{e.fhir_status}': no event was recorded from it, so there is none to withdraw"
            results[e.fhir_id] = EventOutcome("skipped", reason)
        elif e.occurred_at < history:
            when = f"{_KINDS[e.link_type]} on {e.occurred_at:%Y-%m-%d}"
            reason = f"{when}, over {HISTORY_DAYS} days before this import: history, not recorded"
            results[e.fhir_id] = EventOutcome("skipped", reason)
            summary.events.history += 1
    wanted = [e for e in fresh if e.occurred_at is not None and e.occurred_at >= history]
    if not wanted:
        return
    records = [
        EventRecord(
            kind=e.kind,
            occurred_at=e.occurred_at,
            patient_id=e.patient_id,
            location=e.location,
            visit_type=e.visit_type,
            source=SOURCE,
        )
        for e in wanted
        if e.occurred_at is not None
    ]
    report = record_patient_events(session, clinic_id, records, now=now)
    summary.events.recorded += report.recorded
    summary.events.journeys_started += report.journeys_started
    summary.events.journeys_restarted += report.journeys_restarted
    ids = _event_ids(session, wanted)
    new_links: list[dict[str, Any]] = []
    for e in wanted:
        event_id = ids.get((e.patient_id, e.kind.value, e.occurred_at))
        if event_id is None:  # its patient is not the clinic's: never linked
            results[e.fhir_id] = EventOutcome("rejected", "the patient is not one of this clinic's")
            continue
        new_links.append(
            _link(clinic_id, source, e.link_type, e.fhir_id, event_id, e.version_id, e.fhir_status, now)
        )
        results[e.fhir_id] = EventOutcome("created")
    write(session, FhirLink, new_links, [])


def _event_ids(session: Session, wanted: list[SourceEvent]) -> dict[tuple[uuid.UUID, str, Any], uuid.UUID]:
    """The recorded event of each (patient, kind, moment), new or found already there."""
    moments = [e.occurred_at for e in wanted if e.occurred_at is not None]
    e = PatientEvent
    query = select(col(e.id), col(e.patient_id), col(e.kind), col(e.occurred_at)).where(
        col(e.patient_id).in_(many(w.patient_id for w in wanted)),
        col(e.kind).in_(sorted({w.kind.value for w in wanted})),
        col(e.occurred_at) >= min(moments),
        col(e.occurred_at) <= max(moments),
    )
    return {(pid, str(kind), at): event_id for event_id, pid, kind, at in session.execute(query)}


def _correction(event: PatientEvent, e: SourceEvent) -> PatientEventCorrection | None:
    """What changed between the recorded event and the resource, or None."""
    changed: dict[str, Any] = {}
    if e.occurred_at is not None and e.occurred_at != event.occurred_at:
        changed["occurred_at"] = e.occurred_at
    for name in ("location", "visit_type"):
        if getattr(e, name) != getattr(event, name):
            changed[name] = getattr(e, name)
    return PatientEventCorrection(**changed) if changed else None


def _follow(
    session: Session,
    clinic_id: uuid.UUID,
    linked: list[tuple[SourceEvent, Link]],
    now: datetime,
    summary: ImportSummary,
    results: dict[str, EventOutcome],
) -> None:
    """Resources seen before: their events corrected or withdrawn through the journeys' change path."""
    if not linked:
        return
    query = select(PatientEvent).where(col(PatientEvent.id).in_(many(link.local_id for _, link in linked)))
    events = {event.id: event for event in session.scalars(query)}
    link_updates: list[dict[str, Any]] = []
    for e, link in linked:
        event = events.get(link.local_id)
        changed = False
        if event is None or event.deleted_at is not None:
            pass  # deleted in outreach (or withdrawn before): it stays deleted
        elif e.occurred_at is None:
            changes.delete_event(session=session, clinic_id=clinic_id, event_id=event.id, now=now)
            summary.events.deleted += 1
            changed = True
        elif (correction := _correction(event, e)) is not None:
            try:
                changes.correct_event(
                    session=session, clinic_id=clinic_id, event_id=event.id, data=correction, now=now
                )
            except Conflict:
                at = f"{e.occurred_at:%Y-%m-%dT%H:%M}Z"
                reason = f"the patient already has {_KINDS[e.link_type]} event at {at}"
                results[e.fhir_id] = EventOutcome("rejected", reason)
                continue
            summary.events.corrected += 1
            changed = True
        status_changed = link.fhir_status != e.fhir_status
        results[e.fhir_id] = EventOutcome("updated" if changed or status_changed else "unchanged")
        if (link.version_id, link.fhir_status) != (e.version_id, e.fhir_status):
            link_updates.append(
                {"id": link.id, "version_id": e.version_id, "fhir_status": e.fhir_status, "updated_at": now}
            )
    write(session, FhirLink, [], link_updates)
