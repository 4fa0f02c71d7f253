"""How a FHIR R4 Appointment becomes an outreach visit. Each rule is one function, tested one by one.

1. Status: booked, arrived, checked-in, fulfilled and noshow are visits on the schedule (`booked`; a
   visit the patient already confirmed by text stays `confirmed`); cancelled and entered-in-error are
   `cancelled`. proposed, pending and waitlist are not booked yet and are skipped with the reason, so
   nobody is reminded of a visit that may never happen.
2. Start: `start` as an instant in UTC; an appointment without one is skipped (nothing to time a
   reminder from).
3. Patient: the participant whose actor references a Patient (relative `Patient/123`, absolute
   `https://ehr/fhir/Patient/123`, or a transaction's `urn:uuid:` fullUrl); none is a rejection.
4. Location: the display of the participant whose actor references a Location (else none).
5. Fulfilled: a `fulfilled` appointment is also the patient's visit-fulfilled event, at its `end` (else
   its `start`), of the type named by `appointmentType` (its text, else its first coding's display), else
   by the first `serviceType`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from outreach.fhir.periods import instant_utc
from outreach.patients.models import AppointmentStatus

ON_SCHEDULE = frozenset({"booked", "arrived", "checked-in", "fulfilled", "noshow"})
CANCELLED = frozenset({"cancelled", "entered-in-error"})
NOT_BOOKED = frozenset({"proposed", "pending", "waitlist"})
FULFILLED = "fulfilled"


class Skip(Exception):
    """The appointment is left out on purpose; the message says why."""


class Reject(Exception):
    """The appointment cannot be stored; the message says why."""


@dataclass(frozen=True, slots=True)
class MappedAppointment:
    """What outreach keeps of a FHIR Appointment."""

    fhir_id: str
    version_id: str | None
    fhir_status: str
    status: AppointmentStatus
    starts_at: datetime
    patient_ref: str  # the FHIR id of the Patient
    location: str
    fulfilled_at: datetime | None = None  # set: the visit took place (rule 5)
    visit_type: str | None = None  # of a fulfilled visit


def status(fhir_status: str) -> AppointmentStatus:
    """Rule 1: outreach's state for a FHIR status, or Skip for one that must not be reminded."""
    if fhir_status in ON_SCHEDULE:
        return AppointmentStatus.BOOKED
    if fhir_status in CANCELLED:
        return AppointmentStatus.CANCELLED
    if fhir_status in NOT_BOOKED:
        raise Skip(f"status '{fhir_status}': not booked yet, so no reminders")
    raise Skip(f"status '{fhir_status}' is not one outreach reminds for")


def start(data: dict[str, Any]) -> datetime:
    """Rule 2: the start instant in UTC, or Skip."""
    raw = data.get("start")
    if not raw:
        raise Skip("no start time, so no reminder can be timed")
    return instant_utc(str(raw))


def target(reference: str, full_urls: dict[str, str]) -> tuple[str, str] | None:
    """(type, id) a reference points at."""
    reference = full_urls.get(reference, reference)
    parts = reference.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] and parts[-1]:
        if len(parts) >= 4 and parts[-2] == "_history":  # Patient/123/_history/2
            return parts[-4], parts[-3]
        return parts[-2], parts[-1]
    return None


def _actors(data: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    full_urls = data.get("_fullUrls") or {}
    found = []
    for participant in data.get("participant") or []:
        actor = participant.get("actor") or {}
        points_at = target(str(actor.get("reference") or ""), full_urls)
        if (points_at is not None and points_at[0] == kind) or actor.get("type") == kind:
            found.append({**actor, "_id": points_at[1] if points_at else None})
    return found


def patient_ref(data: dict[str, Any]) -> str:
    """Rule 3: the FHIR id of the appointment's patient, or Reject."""
    for actor in _actors(data, "Patient"):
        if actor["_id"]:
            return str(actor["_id"])
    raise Reject("participant: no participant references a Patient")


def location(data: dict[str, Any]) -> str:
    """Rule 4: the Location participant's display."""
    for actor in _actors(data, "Location"):
        if actor.get("display"):
            return str(actor["display"])[:120]
    return ""


def concept_text(concept: dict[str, Any]) -> str:
    """A CodeableConcept as words: its text, else its first coding's display (else '')."""
    if concept.get("text"):
        return str(concept["text"]).strip()
    return next((str(c["display"]).strip() for c in concept.get("coding") or [] if c.get("display")), "")


def visit_type(data: dict[str, Any]) -> str | None:
    """Rule 5: the appointment type's text or coding display, else the first service type's."""
    concepts = [data.get("appointmentType") or {}, *(data.get("serviceType") or [])]
    return next((found[:120] for c in concepts if (found := concept_text(c))), None)


def fulfilled_at(data: dict[str, Any], starts_at: datetime) -> datetime:
    """Rule 5: when a fulfilled visit took place: its end, else its start."""
    return instant_utc(str(data["end"])) if data.get("end") else starts_at


def map_appointment(data: dict[str, Any]) -> MappedAppointment:
    """A validated Appointment resource's JSON, mapped by rules 1-5 (Skip or Reject when it cannot be)."""
    fhir_status = str(data.get("status") or "")
    state = status(fhir_status)  # rule 1 before rule 2: a visit not booked is skipped for that reason
    starts_at = start(data)
    fulfilled = fhir_status == FULFILLED
    return MappedAppointment(
        fhir_id=str(data["id"]),
        version_id=(data.get("meta") or {}).get("versionId"),
        fhir_status=fhir_status,
        status=state,
        starts_at=starts_at,
        patient_ref=patient_ref(data),
        location=location(data),
        fulfilled_at=fulfilled_at(data, starts_at) if fulfilled else None,
        visit_type=visit_type(data) if fulfilled else None,
    )
