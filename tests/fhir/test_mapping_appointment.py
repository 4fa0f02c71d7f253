"""Appointment mapping, rule by rule (outreach/fhir/mapping_appointment.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from outreach.fhir import mapping_appointment as m
from outreach.patients.models import AppointmentStatus


@pytest.mark.parametrize(
    ("fhir_status", "expected"),
    [
        ("booked", AppointmentStatus.BOOKED),
        ("arrived", AppointmentStatus.BOOKED),
        ("checked-in", AppointmentStatus.BOOKED),
        ("fulfilled", AppointmentStatus.BOOKED),
        ("noshow", AppointmentStatus.BOOKED),
        ("cancelled", AppointmentStatus.CANCELLED),
        ("entered-in-error", AppointmentStatus.CANCELLED),
    ],
)
def test_status_onto_outreach_visit_states(fhir_status: str, expected: AppointmentStatus) -> None:
    assert m.status(fhir_status) == expected


@pytest.mark.parametrize("fhir_status", ["proposed", "pending", "waitlist"])
def test_statuses_that_must_not_be_reminded_are_skipped_with_the_reason(fhir_status: str) -> None:
    with pytest.raises(m.Skip, match=f"status '{fhir_status}': not booked yet"):
        m.status(fhir_status)


def test_start_is_an_instant_in_utc_and_none_is_skipped() -> None:
    assert m.start({"start": "2027-03-15T09:00:00-04:00"}) == datetime(2027, 3, 15, 13, 0, tzinfo=UTC)
    assert m.start({"start": "2027-04-20T10:15:00.000-05:00"}) == datetime(2027, 4, 20, 15, 15, tzinfo=UTC)
    assert m.start({"start": "2027-01-12T09:00:00Z"}) == datetime(2027, 1, 12, 9, 0, tzinfo=UTC)
    with pytest.raises(m.Skip, match="no start time"):
        m.start({})


def _visit(*actors: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"participant": [{"actor": a, "status": "accepted"} for a in actors], **extra}


def test_patient_comes_from_the_patient_participant_in_any_reference_form() -> None:
    doctor = {"reference": "Practitioner/example"}
    assert m.patient_ref(_visit(doctor, {"reference": "Patient/p1"})) == "p1"
    assert m.patient_ref(_visit({"reference": "https://ehr.example/fhir/Patient/p2"})) == "p2"
    assert m.patient_ref(_visit({"reference": "Patient/p3/_history/4"})) == "p3"
    urn = _visit({"reference": "urn:uuid:61ebe359"}, _fullUrls={"urn:uuid:61ebe359": "Patient/p4"})
    assert m.patient_ref(urn) == "p4"
    with pytest.raises(m.Reject, match="no participant references a Patient"):
        m.patient_ref(_visit(doctor, {"display": "Phone Call"}))


def test_location_is_the_location_participants_display() -> None:
    room = {"reference": "Location/1", "display": "South Wing, second floor"}
    assert m.location(_visit({"reference": "Patient/p1"}, room)) == "South Wing, second floor"
    assert m.location(_visit({"reference": "Patient/p1"}, {"reference": "Location/2"})) == ""
