"""Encounter mapping, rule by rule (outreach/fhir/mapping_encounter.py), and a fulfilled visit's event."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from outreach.fhir import mapping_appointment as appointments
from outreach.fhir import mapping_encounter as m


def encounter(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": "enc-1",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "subject": {"reference": "Patient/p1"},
        "period": {"start": "2026-11-28T08:00:00-05:00", "end": "2026-12-01T14:30:00-05:00"},
    }
    return {**base, **fields}


def test_finished_is_a_discharge_withdrawn_statuses_withdraw_it_and_the_rest_are_skipped() -> None:
    assert m.withdrawn("finished") is False
    assert m.withdrawn("cancelled") is True
    assert m.withdrawn("entered-in-error") is True
    for status in ("planned", "arrived", "triaged", "in-progress", "onleave", "unknown"):
        with pytest.raises(appointments.Skip, match=f"status '{status}': not finished, so no discharge"):
            m.withdrawn(status)


def test_the_discharge_is_the_period_end_in_utc_and_an_encounter_without_one_is_skipped() -> None:
    assert m.discharged_at(encounter()) == datetime(2026, 12, 1, 19, 30, tzinfo=UTC)
    with pytest.raises(appointments.Skip, match="no period end"):
        m.discharged_at(encounter(period={"start": "2026-11-28T08:00:00-05:00"}))
    with pytest.raises(appointments.Skip, match="no period end"):
        m.discharged_at({"status": "finished"})
    with pytest.raises(appointments.Skip, match="'2026-12-01' has no time of day"):
        m.discharged_at(encounter(period={"end": "2026-12-01"}))


def test_the_subject_must_reference_a_patient_however_it_is_written() -> None:
    assert m.patient_ref(encounter()) == "p1"
    assert m.patient_ref(encounter(subject={"reference": "https://ehr.example/fhir/Patient/p2"})) == "p2"
    assert m.patient_ref(encounter(subject={"reference": "Patient/p3/_history/4"})) == "p3"
    in_transaction = encounter(
        subject={"reference": "urn:uuid:abc"}, _fullUrls={"urn:uuid:abc": "Patient/p4"}
    )
    assert m.patient_ref(in_transaction) == "p4"
    with pytest.raises(appointments.Reject, match="subject: does not reference a Patient"):
        m.patient_ref(encounter(subject={"reference": "Group/g1"}))
    with pytest.raises(appointments.Reject, match="subject"):
        m.patient_ref(encounter(subject=None))


def test_location_is_the_first_location_display() -> None:
    places = [{"location": {"reference": "Location/1"}}, {"location": {"display": "Ward 4B"}}]
    assert m.location(encounter(location=places)) == "Ward 4B"
    assert m.location(encounter()) is None


def test_visit_type_is_the_type_text_or_display_else_the_class() -> None:
    typed = [{"coding": [{"system": "http://snomed.info/sct", "code": "1", "display": "Hip replacement"}]}]
    assert m.visit_type(encounter(type=typed)) == "Hip replacement"
    assert (
        m.visit_type(encounter(type=[{"text": "Knee surgery", "coding": typed[0]["coding"]}]))
        == "Knee surgery"
    )
    assert m.visit_type(encounter()) == "IMP"
    assert m.visit_type(encounter(**{"class": {"code": "EMER", "display": "emergency"}})) == "emergency"


def test_a_finished_encounter_maps_whole_and_a_withdrawn_one_has_no_moment() -> None:
    mapped = m.map_encounter(
        encounter(location=[{"location": {"display": "Ward 4B"}}], meta={"versionId": "3"})
    )
    assert (mapped.fhir_id, mapped.version_id, mapped.patient_ref) == ("enc-1", "3", "p1")
    assert (mapped.discharged_at, mapped.location, mapped.visit_type) == (
        datetime(2026, 12, 1, 19, 30, tzinfo=UTC),
        "Ward 4B",
        "IMP",
    )
    assert m.map_encounter(encounter(status="entered-in-error")).discharged_at is None


def visit(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": "a1",
        "status": "fulfilled",
        "start": "2026-12-01T09:00:00-05:00",
        "end": "2026-12-01T09:40:00-05:00",
        "participant": [
            {"actor": {"reference": "Patient/p1"}, "status": "accepted"},
            {"actor": {"reference": "Location/1", "display": "Clinic B"}, "status": "accepted"},
        ],
    }
    return {**base, **fields}


def test_a_fulfilled_appointment_is_a_visit_at_its_end_else_its_start_with_its_type() -> None:
    mapped = appointments.map_appointment(visit(appointmentType={"text": "Follow-up"}))
    assert (mapped.fulfilled_at, mapped.visit_type, mapped.location) == (
        datetime(2026, 12, 1, 14, 40, tzinfo=UTC),
        "Follow-up",
        "Clinic B",
    )
    no_end = visit(end=None, serviceType=[{"coding": [{"code": "57", "display": "Immunization"}]}])
    mapped = appointments.map_appointment(no_end)
    assert (mapped.fulfilled_at, mapped.visit_type) == (
        datetime(2026, 12, 1, 14, 0, tzinfo=UTC),
        "Immunization",
    )
    booked = appointments.map_appointment(visit(status="booked", appointmentType={"text": "Follow-up"}))
    assert (booked.fulfilled_at, booked.visit_type) == (None, None)
