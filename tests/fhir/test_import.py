"""Importing FHIR files: the HL7, US Core and Synthea samples, idempotence, schedule changes, tenancy."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from outreach.clinics.models import Clinic
from outreach.db import session_scope
from outreach.errors import Invalid
from outreach.fhir.importing import import_paths
from outreach.fhir.schemas import ImportSummary
from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.patients.models import Appointment, AppointmentStatus, ConsentStatus, Patient
from outreach.patients.service import record_consent
from tests.campaigns.support import enroll, launch_now, make_campaign
from tests.factories import create_clinic

SAMPLES = Path(__file__).parent / "samples"
NDJSON = [SAMPLES / "Patient.ndjson", SAMPLES / "Appointment.ndjson"]
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def run_import(engine: Engine, clinic: Clinic, paths: list[Path], source: str = "file") -> ImportSummary:
    with session_scope(engine) as session:
        return import_paths(
            session=session, clinic=clinic, source=source, mrn_system="", paths=paths, now=NOW
        )


def patients(engine: Engine, clinic: Clinic) -> dict[str, Patient]:
    with Session(engine) as session:
        return {p.external_id: p for p in session.exec(select(Patient).where(Patient.clinic_id == clinic.id))}


def counts(summary: ImportSummary) -> dict[str, dict[str, int]]:
    return {kind: c.model_dump() for kind, c in summary.counts.items()}


def test_the_sample_export_is_stored_and_each_left_out_resource_is_named(engine: Engine) -> None:
    clinic = create_clinic(engine)
    summary = run_import(engine, clinic, NDJSON)
    assert counts(summary) == {
        "Patient": {"created": 11, "updated": 0, "unchanged": 0, "skipped": 0, "rejected": 1},
        "Appointment": {"created": 9, "updated": 0, "unchanged": 0, "skipped": 1, "rejected": 1},
    }
    rejected = {(n.resource_type, n.id): n.reason for n in summary.rejected}
    assert rejected[("Patient", "2af7234a-0e72-328d-fb74-63fd3b960d76")].startswith("birthDate:")
    assert (
        "Patient/8e8dc81a-a6bf-608a-acad-ff35f6bbca7e is not a patient outreach knows"
        in rejected[("Appointment", "appt-1010")]
    )
    assert [(n.id, n.reason) for n in summary.skipped] == [
        ("examplereq", "status 'proposed': not booked yet, so no reminders")
    ]
    stored = patients(engine, clinic)
    chalmers = stored["12345"]  # HL7 example: mobile (rank 2) over work (rank 1); no language → clinic's
    assert (chalmers.given_name, chalmers.phone, chalmers.language) == ("Peter", "+12025550101", "en")
    assert stored["7302f01e-91c5-b249-a02c-97eec2888bd5"].phone == "+12025550106"  # sms over home
    assert stored["24906e2c-e556-71dc-23d9-3e1d5fb08986"].phone == "+12025550109"  # the ended mobile is old
    assert stored["3f6bb1c9-57a3-5839-4cd8-bc68c961408a"].language == "zh-TW"
    assert stored["001ea705-d3ba-5329-0b27-a7fbde2f4007"].language == "ru-RU"  # the preferred one
    assert stored["256def0d-5d1b-6bac-f308-5fd8ead611d9"].language == "pl"  # from the text "Polish"
    assert stored["f201"].language == "nl-NL"  # no MRN: kept under its FHIR id
    amy = stored["1032702"]  # US Core example patient
    assert (amy.race, amy.ethnicity, amy.postal_code, amy.sex) == (
        "1002-5,2028-9,2106-3",
        "2135-2",
        "74047",
        "female",
    )
    # Bulk-written like the rest: the clear birth year and ZIP3 beside the encrypted birth date and ZIP.
    assert (amy.birth_date, amy.birth_year, amy.postal3) == (date(2007, 2, 20), 2007, "740")
    assert stored["fed27b28-8c8b-7937-db42-b3b9b16f0a47"].interpreter_needed is True
    assert all(p.consent == ConsentStatus.UNKNOWN for p in stored.values())
    with Session(engine) as session:
        visits = {(a.starts_at, a.location, a.status) for a in session.exec(select(Appointment))}
    assert (
        datetime(2027, 3, 15, 13, 0, tzinfo=UTC),
        "South Wing, second floor",
        AppointmentStatus.BOOKED,
    ) in visits
    cancelled = (
        datetime(2027, 2, 1, 21, 0, tzinfo=UTC),
        "GRACEMED HEALTH CLINIC INC",
        AppointmentStatus.CANCELLED,
    )
    assert cancelled in visits


def test_the_same_resources_again_change_nothing_whether_ndjson_or_a_bundle(engine: Engine) -> None:
    clinic = create_clinic(engine)
    run_import(engine, clinic, NDJSON)
    before = {k: (p.updated_at, p.phone) for k, p in patients(engine, clinic).items()}
    for again in (NDJSON, [SAMPLES / "bundle-collection.json"]):
        summary = run_import(engine, clinic, again)
        assert summary.counts["Patient"].unchanged == 11
        assert summary.counts["Appointment"].unchanged == 9
        assert summary.counts["Patient"].created + summary.counts["Patient"].updated == 0
        assert summary.counts["Appointment"].created + summary.counts["Appointment"].updated == 0
    assert {k: (p.updated_at, p.phone) for k, p in patients(engine, clinic).items()} == before


def _write(folder: Path, name: str, resources: list[dict[str, Any]]) -> Path:
    path = folder / name
    path.write_text("".join(json.dumps(r) + "\n" for r in resources), encoding="utf-8")
    return path


def _patient(fhir_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": fhir_id,
        "name": [{"use": "official", "given": ["Lan"], "family": "Ng"}],
        "telecom": [{"system": "sms", "value": "202-555-0150"}],
        **extra,
    }


def _visit(fhir_id: str, patient: str, start: datetime, status: str = "booked") -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "id": fhir_id,
        "status": status,
        "start": start.isoformat(),
        "participant": [
            {"actor": {"reference": f"Patient/{patient}"}, "status": "accepted"},
            {"actor": {"reference": "Location/9", "display": "Room 4"}, "status": "accepted"},
        ],
    }


def _pending(engine: Engine) -> list[OutboundMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboundMessage)))


def test_a_visit_that_moved_or_became_cancelled_replans_its_unsent_reminders(
    engine: Engine, tmp_path: Path
) -> None:
    clinic = create_clinic(engine)
    start = NOW + timedelta(days=10)
    run_import(
        engine,
        clinic,
        [
            _write(tmp_path, "Patient.ndjson", [_patient("p1")]),
            _write(tmp_path, "Appointment.ndjson", [_visit("v1", "p1", start)]),
        ],
    )
    with session_scope(engine) as session:
        patient = session.exec(select(Patient)).one()
        record_consent(session=session, patient=patient, status=ConsentStatus.GRANTED, source="test", now=NOW)
    campaign = make_campaign(engine, clinic, now=NOW)
    enroll(engine, campaign, now=NOW)
    launch_now(engine, campaign, now=NOW)
    [text] = _pending(engine)
    assert (text.status, text.send_at) == (MessageStatus.SCHEDULED, start - timedelta(hours=24))

    moved = start + timedelta(days=2)
    summary = run_import(
        engine, clinic, [_write(tmp_path, "Appointment.ndjson", [_visit("v1", "p1", moved)])]
    )
    assert summary.counts["Appointment"].updated == 1
    [text] = _pending(engine)
    assert (text.status, text.send_at) == (MessageStatus.SCHEDULED, moved - timedelta(hours=24))

    run_import(
        engine, clinic, [_write(tmp_path, "Appointment.ndjson", [_visit("v1", "p1", moved, "cancelled")])]
    )
    [text] = _pending(engine)
    assert (text.status, text.error_reason) == (MessageStatus.CANCELLED, "appointment cancelled")

    booked_later = _visit("v2", "p1", NOW + timedelta(days=20))
    run_import(engine, clinic, [_write(tmp_path, "Appointment.ndjson", [booked_later])])
    scheduled = [t for t in _pending(engine) if t.status == MessageStatus.SCHEDULED]
    assert [t.send_at for t in scheduled] == [NOW + timedelta(days=19)]


def test_a_patient_without_a_current_phone_is_stored_but_not_textable(engine: Engine, tmp_path: Path) -> None:
    clinic = create_clinic(engine)
    old_only = _patient(
        "p9", telecom=[{"system": "phone", "value": "202-555-0151", "period": {"end": "2020"}}]
    )
    summary = run_import(engine, clinic, [_write(tmp_path, "Patient.ndjson", [old_only])])
    assert summary.counts["Patient"].created == 1
    assert [(n.id, n.reason) for n in summary.not_textable] == [
        ("p9", "no current phone number in the EHR record")
    ]
    stored = patients(engine, clinic)["p9"]
    assert (stored.phone, stored.undeliverable_reason) == ("", "no current phone number in the EHR record")
    back = _patient("p9", telecom=[{"system": "phone", "value": "202-555-0152", "use": "mobile"}])
    run_import(engine, clinic, [_write(tmp_path, "Patient.ndjson", [back])])
    stored = patients(engine, clinic)["p9"]
    assert (stored.phone, stored.undeliverable_reason) == ("+12025550152", None)


def test_one_clinics_import_never_touches_another_clinics_patients(engine: Engine, tmp_path: Path) -> None:
    first, second = (
        create_clinic(engine, name="North"),
        create_clinic(engine, name="South", phone="+12025550199"),
    )
    run_import(engine, first, NDJSON)
    before = {k: (p.id, p.updated_at, p.phone) for k, p in patients(engine, first).items()}
    changed = _patient("example", identifier=[{"type": {"coding": [{"code": "MR"}]}, "value": "12345"}])
    summary = run_import(engine, second, [*NDJSON, _write(tmp_path, "Patient-changed.ndjson", [changed])])
    assert summary.counts["Patient"].created == 11
    assert {k: (p.id, p.updated_at, p.phone) for k, p in patients(engine, first).items()} == before
    assert patients(engine, second)["12345"].phone == "+12025550150"
    assert patients(engine, first)["12345"].phone == "+12025550101"


def test_a_file_that_cannot_be_read_leaves_nothing_half_written(engine: Engine, tmp_path: Path) -> None:
    clinic = create_clinic(engine)
    broken = tmp_path / "bundle.json"
    broken.write_text(json.dumps({"resourceType": "Bundle", "type": "document-ish", "entry": []}))
    with pytest.raises(Invalid, match="Bundle"):
        run_import(engine, clinic, [SAMPLES / "Patient.ndjson", broken])
    assert patients(engine, clinic) == {}


def test_an_mrn_that_belongs_to_another_patient_is_rejected_not_merged(
    engine: Engine, tmp_path: Path
) -> None:
    clinic = create_clinic(engine)
    mr = {"type": {"coding": [{"code": "MR"}]}}
    run_import(
        engine,
        clinic,
        [
            _write(
                tmp_path,
                "Patient.ndjson",
                [
                    _patient("a", identifier=[{**mr, "value": "M1"}]),
                    _patient("b", identifier=[{**mr, "value": "M2"}]),
                ],
            )
        ],
    )
    summary = run_import(
        engine,
        clinic,
        [_write(tmp_path, "Patient.ndjson", [_patient("a", identifier=[{**mr, "value": "M2"}])])],
    )
    assert [(n.id, n.reason) for n in summary.rejected] == [
        ("a", "identifier: the MRN belongs to another patient of this clinic")
    ]
    assert sorted(patients(engine, clinic)) == ["M1", "M2"]


def test_unknown_ids_never_resolve_across_clinics(engine: Engine, tmp_path: Path) -> None:
    first, second = (
        create_clinic(engine, name="North"),
        create_clinic(engine, name="South", phone="+12025550199"),
    )
    run_import(engine, first, [_write(tmp_path, "Patient.ndjson", [_patient("p1")])])
    summary = run_import(
        engine,
        second,
        [_write(tmp_path, "Appointment.ndjson", [_visit("v1", "p1", NOW + timedelta(days=3))])],
    )
    assert summary.counts["Appointment"].rejected == 1
    with Session(engine) as session:
        assert session.exec(select(Appointment)).all() == []


def test_a_resource_given_twice_is_stored_once_from_its_later_copy(engine: Engine, tmp_path: Path) -> None:
    clinic = create_clinic(engine)
    first = _patient("p1", telecom=[{"system": "sms", "value": "202-555-0141"}])
    later = _patient("p1", telecom=[{"system": "sms", "value": "202-555-0142"}])
    summary = run_import(engine, clinic, [_write(tmp_path, "Patient.ndjson", [first, later])])
    assert (summary.counts["Patient"].created, summary.counts["Patient"].skipped) == (1, 1)
    assert (
        summary.skipped[0].reason
        == "the same resource comes again later in this import; the later one is stored"
    )
    assert patients(engine, clinic)["p1"].phone == "+12025550142"


def test_a_visit_the_patient_confirmed_by_text_stays_confirmed_when_the_ehr_says_booked(
    engine: Engine, tmp_path: Path
) -> None:
    clinic = create_clinic(engine)
    start = NOW + timedelta(days=5)
    files = [_write(tmp_path, "Patient.ndjson", [_patient("p1")]),
             _write(tmp_path, "Appointment.ndjson", [_visit("v1", "p1", start)])]  # fmt: skip
    run_import(engine, clinic, files)
    with session_scope(engine) as session:
        session.execute(update(Appointment).values(status=AppointmentStatus.CONFIRMED))
    assert run_import(engine, clinic, files).counts["Appointment"].unchanged == 1
    with Session(engine) as session:
        assert session.exec(select(Appointment.status)).one() == AppointmentStatus.CONFIRMED
    run_import(
        engine, clinic, [_write(tmp_path, "Appointment.ndjson", [_visit("v1", "p1", start, "cancelled")])]
    )
    with Session(engine) as session:
        assert session.exec(select(Appointment.status)).one() == AppointmentStatus.CANCELLED


def test_a_large_export_prepared_in_a_worker_process_gives_the_same_outcome(engine: Engine) -> None:
    clinic = create_clinic(engine)
    with session_scope(engine) as session:
        summary = import_paths(
            session=session,
            clinic=clinic,
            source="file",
            mrn_system="",
            paths=NDJSON,
            now=NOW,
            parallel_from=0,
        )
    assert counts(summary) == {
        "Patient": {"created": 11, "updated": 0, "unchanged": 0, "skipped": 0, "rejected": 1},
        "Appointment": {"created": 9, "updated": 0, "unchanged": 0, "skipped": 1, "rejected": 1},
    }
    assert [(n.id, n.reason) for n in summary.skipped] == [
        ("examplereq", "status 'proposed': not booked yet, so no reminders")
    ]
    assert patients(engine, clinic)["7302f01e-91c5-b249-a02c-97eec2888bd5"].phone == "+12025550106"
    again = run_import(engine, clinic, NDJSON)  # and in process: nothing differs
    assert again.counts["Patient"].unchanged == 11
    assert again.counts["Appointment"].unchanged == 9
