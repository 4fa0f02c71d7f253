"""How a FHIR R4 Encounter becomes a patient's discharge event. Each rule is one function, tested one by one.

1. Status: `finished` is a discharge. cancelled and entered-in-error withdraw one (a discharge recorded
   from the Encounter before is deleted, which ends its journeys); planned, arrived, triaged, in-progress,
   onleave and unknown are not over yet and are skipped with the reason.
2. Moment: `period.end` as an instant in UTC; a finished Encounter without one (or with a date but no
   time of day) is skipped, since nothing can be timed from it.
3. Patient: `subject` referencing a Patient (relative, absolute, `_history`, a transaction's `urn:uuid:`
   fullUrl, as for an Appointment's participant); none is a rejection.
4. Location: the display of the first `location[].location` that has one (else none).
5. Visit type: the first `type` (its text, else its first coding's display), else `class` (its display,
   else its code: IMP, AMB, EMER...).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from outreach.fhir.mapping_appointment import Reject, Skip, concept_text, target
from outreach.fhir.periods import instant_utc

FINISHED = "finished"
WITHDRAWN = frozenset({"cancelled", "entered-in-error"})


@dataclass(frozen=True, slots=True)
class MappedEncounter:
    """What outreach keeps of a FHIR Encounter: a discharge at `discharged_at` (None: withdrawn)."""

    fhir_id: str
    version_id: str | None
    fhir_status: str
    discharged_at: datetime | None
    patient_ref: str  # the FHIR id of the Patient
    location: str | None
    visit_type: str | None


def withdrawn(fhir_status: str) -> bool:
    """Rule 1: whether the status withdraws a discharge; Skip for an Encounter that is not over."""
    if fhir_status == FINISHED:
        return False
    if fhir_status in WITHDRAWN:
        return True
    raise Skip(f"status '{fhir_status}': not finished, so no discharge")


def discharged_at(data: dict[str, Any]) -> datetime:
    """Rule 2: `period.end` as an instant in UTC, or Skip."""
    raw = str((data.get("period") or {}).get("end") or "")
    if not raw:
        raise Skip("no period end, so no discharge time")
    if "T" not in raw:
        raise Skip(f"period end '{raw}' has no time of day, so no discharge time")
    return instant_utc(raw)


def patient_ref(data: dict[str, Any]) -> str:
    """Rule 3: the FHIR id of the Encounter's patient, or Reject."""
    subject = data.get("subject") or {}
    found = target(str(subject.get("reference") or ""), data.get("_fullUrls") or {})
    if found is not None and found[0] == "Patient":
        return found[1]
    raise Reject("subject: does not reference a Patient")


def location(data: dict[str, Any]) -> str | None:
    """Rule 4: the first location's display."""
    for entry in data.get("location") or []:
        display = (entry.get("location") or {}).get("display")
        if display:
            return str(display).strip()[:120] or None
    return None


def visit_type(data: dict[str, Any]) -> str | None:
    """Rule 5: the first type's text or coding display, else the class's display or code."""
    for concept in data.get("type") or []:
        if found := concept_text(concept):
            return found[:120]
    kind = data.get("class") or {}
    return str(kind.get("display") or kind.get("code") or "").strip()[:120] or None


def map_encounter(data: dict[str, Any]) -> MappedEncounter:
    """A validated Encounter resource's JSON, mapped by rules 1-5 (Skip or Reject when it cannot be)."""
    fhir_status = str(data.get("status") or "")
    gone = withdrawn(fhir_status)
    return MappedEncounter(
        fhir_id=str(data["id"]),
        version_id=(data.get("meta") or {}).get("versionId"),
        fhir_status=fhir_status,
        discharged_at=None if gone else discharged_at(data),
        patient_ref=patient_ref(data),
        location=location(data),
        visit_type=visit_type(data),
    )
