"""Reading and validating FHIR input: remembered elements never hide an invalid one; Bundle kinds."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from outreach.errors import Invalid
from outreach.fhir import parsing

PHONE = {"system": "phone", "value": "202-555-0120", "use": "mobile"}
SPANISH = {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "es"}]}}


def _patient(fhir_id: str, **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": fhir_id, "telecom": [PHONE], "communication": [SPANISH], **extra}


def test_an_element_seen_before_does_not_excuse_an_invalid_one_beside_it() -> None:
    assert parsing.checked(_patient("a"), where="1").problem is None
    bad_telecom = _patient("b", telecom=[PHONE, {"system": "phone", "value": "x", "rank": 0}])
    problem = parsing.checked(bad_telecom, where="2").problem
    assert problem == "telecom.1.rank: Input should be greater than or equal to 1"
    bad_date = _patient("c", birthDate="1990-13-45")
    assert (
        parsing.checked(bad_date, where="3").problem
        == "birthDate: Date value string does not match spec regex."
    )


def test_an_appointment_whose_participants_were_all_seen_is_still_checked_whole() -> None:
    room = {"actor": {"reference": "Location/1", "display": "Room 4"}, "status": "accepted"}
    visit = {"resourceType": "Appointment", "id": "v1", "status": "booked", "participant": [room]}
    assert parsing.checked(visit, where="1").problem is None
    assert parsing.checked({**visit, "id": "v2"}, where="2").problem is None
    no_status = {k: v for k, v in visit.items() if k != "status"} | {"id": "v3"}
    assert parsing.checked(no_status, where="3").problem is not None
    empty = {**visit, "id": "v4", "participant": []}
    assert parsing.checked(empty, where="4").problem is not None


def test_a_resource_shaped_like_valid_ones_is_still_refused_for_a_bad_value_of_its_own() -> None:
    def visit(n: int, **extra: Any) -> dict[str, Any]:
        patient = {"actor": {"reference": f"Patient/p{n}"}, "status": "accepted"}
        return {"resourceType": "Appointment", "id": f"s{n}", "status": "booked",
                "start": f"2026-12-{n:02d}T10:00:00Z", "participant": [patient], **extra}  # fmt: skip

    assert [parsing.checked(visit(n), where=str(n)).problem for n in range(1, 6)] == [None] * 5
    assert parsing.checked(visit(6, start="2026-12-06T25:00:00Z"), where="6").problem == (
        "start: Instant value string does not match spec regex."
    )
    assert parsing.checked(visit(7, id="s 7"), where="7").problem == (
        "id: String should match pattern '^[A-Za-z0-9\\-.]+$'"
    )
    no_reference = visit(8, participant=[{"actor": {"reference": ""}, "status": "accepted"}])
    assert parsing.checked(no_reference, where="8").problem == (
        "participant.0.actor.reference: String should match pattern '[ \r\n\t\\S]+'"
    )
    assert parsing.checked(visit(9), where="9").problem is None


def test_a_patient_whose_identifiers_and_numbers_never_repeat_is_checked_value_by_value() -> None:
    def person(n: int, mrn: str) -> dict[str, Any]:
        mr = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}
        phone = {"system": "phone", "value": f"202-555-{n:04d}", "use": "mobile"}
        return _patient(f"q{n}", identifier=[{"type": mr, "value": mrn}], telecom=[phone])

    assert all(parsing.checked(person(n, f"M{n}"), where=str(n)).problem is None for n in range(400))
    assert parsing.checked(person(400, ""), where="400").problem == (
        "identifier.0.value: String should match pattern '[ \r\n\t\\S]+'"
    )
    bad_type = person(401, "M401")
    bad_type["identifier"][0]["type"] = {"coding": [{"code": "MR", "userSelected": "maybe"}]}
    assert parsing.checked(bad_type, where="401").problem == (
        "identifier.0.type.coding.0.userSelected: Input should be a valid boolean, unable to interpret input"
    )


def test_other_resource_types_are_skipped_and_a_resource_without_id_rejected() -> None:
    location = parsing.checked({"resourceType": "Location", "id": "1"}, where="1")
    assert location.skip == "outreach imports Patient, Appointment and Encounter resources only"
    nameless = parsing.checked({"resourceType": "Patient"}, where="line 4")
    assert (nameless.fhir_id, nameless.problem) == ("line 4", "id: a resource needs an id to be kept in step")


def test_a_transaction_bundle_resolves_urn_references_and_a_searchset_drops_outcomes() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:5c1a",
                "resource": _patient("p1"),
                "request": {"method": "PUT", "url": "Patient/p1"},
            },
            {"resource": {"resourceType": "OperationOutcome", "id": "o"}, "search": {"mode": "outcome"}},
            {"request": {"method": "DELETE", "url": "Patient/p2"}},
        ],
    }
    [patient] = list(parsing.read_json(io.BytesIO(json.dumps(bundle).encode())))
    assert (patient.resource_type, patient.fhir_id, patient.data["_fullUrls"]) == (
        "Patient",
        "p1",
        {"urn:uuid:5c1a": "Patient/p1"},
    )


@pytest.mark.parametrize("kind", ["document", "history", "message"])
def test_bundles_outreach_does_not_read_are_refused_whole(kind: str) -> None:
    data = json.dumps({"resourceType": "Bundle", "type": kind, "entry": []}).encode()
    with pytest.raises(Invalid, match=f"Bundle type '{kind}'"):
        list(parsing.read_json(io.BytesIO(data)))


def test_ndjson_lines_that_are_not_json_are_rejected_by_line() -> None:
    stream = io.BytesIO(json.dumps(_patient("p1")).encode() + b"\n\n{not json\n")
    read = list(parsing.read_ndjson(stream))
    assert [(r.fhir_id, r.problem is None) for r in read] == [("p1", True), ("line 3", False)]
    assert read[1].problem is not None
    assert read[1].problem.startswith("is not valid JSON")
