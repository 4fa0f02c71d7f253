"""Patient events from FHIR: finished Encounters as discharges, fulfilled Appointments as visits, the
journeys they start through the clinic's rules, corrections, withdrawals, idempotence and tenancy."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach.clinics.models import Clinic
from outreach.config import Settings
from outreach.db import session_scope
from outreach.fhir.importing import import_paths
from outreach.fhir.schemas import ImportSummary
from outreach.journeys import service as journeys_service
from outreach.journeys.models import EventKind, JourneyStatus, PatientEvent
from outreach.journeys.schemas import RuleIn
from outreach.patients.models import ConsentStatus, Patient
from outreach.patients.service import record_consent
from tests.campaigns.support import launch_now, make_campaign
from tests.factories import create_clinic
from tests.journeys.support import SIX_WEEKS, journey_campaign, journeys, texts
from tests.processes import outreach_env

SAMPLES = Path(__file__).parent / "samples"
EXPORT = [SAMPLES / "Patient.ndjson", SAMPLES / "Appointment.ndjson", SAMPLES / "Encounter.ndjson"]
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
LEFT = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)  # the hand-made Encounters' discharge
HOSPITAL = "MINIMALLY INVASIVE SURGERY HOSPITAL"


def run_import(engine: Engine, clinic: Clinic, paths: list[Path], *, now: datetime = NOW) -> ImportSummary:
    with session_scope(engine) as session:
        return import_paths(
            session=session, clinic=clinic, source="file", mrn_system="", paths=paths, now=now
        )


def counts(summary: ImportSummary, kind: str) -> dict[str, int]:
    return summary.counts[kind].model_dump()


def events(engine: Engine, clinic: Clinic) -> list[PatientEvent]:
    with Session(engine) as session:
        query = select(PatientEvent).where(PatientEvent.clinic_id == clinic.id)
        return list(session.exec(query.order_by(col(PatientEvent.occurred_at))))


def patient_by_mrn(engine: Engine, clinic: Clinic, mrn: str) -> Patient:
    with Session(engine) as session:
        return session.exec(
            select(Patient).where(Patient.clinic_id == clinic.id, Patient.external_id == mrn)
        ).one()


def grant(engine: Engine, patient: Patient) -> None:
    with session_scope(engine) as session:
        found = session.get_one(Patient, patient.id)
        record_consent(session=session, patient=found, status=ConsentStatus.GRANTED, source="test", now=NOW)


def write(folder: Path, name: str, resources: list[dict[str, Any]]) -> Path:
    path = folder / name
    path.write_text("".join(json.dumps(r) + "\n" for r in resources))
    return path


def person(fhir_id: str, phone: str = "+1 202 555 0142") -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": fhir_id,
        "identifier": [{"type": {"coding": [{"code": "MR"}]}, "value": f"MRN-{fhir_id}"}],
        "name": [{"use": "official", "given": ["Lan"], "family": "Tran"}],
        "telecom": [{"system": "sms", "value": phone}],
    }


def stay(
    fhir_id: str, patient: str, end: datetime | None, *, status: str = "finished", version: str = "1"
) -> dict[str, Any]:
    period: dict[str, str] = {"start": (LEFT - timedelta(days=3)).isoformat()}
    if end is not None:
        period["end"] = end.isoformat()
    return {
        "resourceType": "Encounter",
        "id": fhir_id,
        "meta": {"versionId": version},
        "status": status,
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "type": [{"text": "Hip replacement"}],
        "subject": {"reference": f"Patient/{patient}"},
        "period": period,
        "location": [{"location": {"reference": "Location/w4", "display": "Ward 4B"}}],
    }


def test_the_sample_encounters_record_discharges_and_name_what_is_left_out(engine: Engine) -> None:
    clinic = create_clinic(engine)
    summary = run_import(engine, clinic, EXPORT)
    assert counts(summary, "Encounter") == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "skipped": 2,
        "rejected": 1,
    }
    skipped = {n.id: n.reason for n in summary.skipped if n.resource_type == "Encounter"}
    assert skipped == {
        "example": "status 'in-progress': not finished, so no discharge",  # HL7 R4 example
        "f202": "no period end, so no discharge time",  # HL7 R4 example: a length, no period
    }
    rejected = {n.id: n.reason for n in summary.rejected if n.resource_type == "Encounter"}
    assert rejected == {
        "030f637d-06b1-4242-0d26-924fab598c41": "subject: Patient/8e8dc81a-a6bf-608a-acad-ff35f6bbca7e"
        " is not a patient outreach knows for this clinic and source"
    }
    assert summary.events.model_dump() == {
        "recorded": 2, "corrected": 0, "deleted": 0, "journeys_started": 0, "journeys_restarted": 0,
        "history": 0,
    }  # fmt: skip
    first, second = events(engine, clinic)
    assert (first.kind, first.occurred_at, first.location, first.visit_type, first.source) == (
        EventKind.DISCHARGED,
        datetime(2026, 11, 29, 18, 47, 22, tzinfo=UTC),  # Synthea: period end 15:47:22-03:00
        "HEALTH CARE AND INFORMATICS INC",
        "General examination of patient (procedure)",
        "fhir",
    )
    assert (second.occurred_at, second.location) == (datetime(2026, 12, 1, 18, 29, 10, tzinfo=UTC), HOSPITAL)
    assert second.patient_id == patient_by_mrn(engine, clinic, "0a03f8dc-1369-9f83-56b5-073b6e7cd96f").id
    assert json.loads(summary.model_dump_json())["counts"]["Encounter"]["created"] == 2  # what --json prints


def test_a_discharge_enrolls_by_its_rule_and_the_same_export_again_changes_nothing(engine: Engine) -> None:
    clinic = create_clinic(engine)
    run_import(engine, clinic, EXPORT[:2])
    patient = patient_by_mrn(engine, clinic, "0a03f8dc-1369-9f83-56b5-073b6e7cd96f")
    grant(engine, patient)
    journey_campaign(engine, clinic, now=NOW - timedelta(days=5), location=HOSPITAL)
    summary = run_import(engine, clinic, EXPORT)
    assert (summary.events.recorded, summary.events.journeys_started) == (2, 1)
    (journey,) = journeys(engine, patient.id)
    assert journey.anchor_at == datetime(2026, 12, 1, 18, 29, 10, tzinfo=UTC)
    planned = [r.send_at for r in texts(engine, journey.id)]
    assert planned[0] == journey.anchor_at + timedelta(hours=48)  # the first check-in, two days after

    again = run_import(engine, clinic, EXPORT)
    assert counts(again, "Encounter") == {
        "created": 0,
        "updated": 0,
        "unchanged": 2,
        "skipped": 2,
        "rejected": 1,
    }
    assert again.events.model_dump() == {
        "recorded": 0, "corrected": 0, "deleted": 0, "journeys_started": 0, "journeys_restarted": 0,
        "history": 0,
    }  # fmt: skip
    assert len(events(engine, clinic)) == 2
    assert [j.id for j in journeys(engine, patient.id)] == [journey.id]
    assert [r.send_at for r in texts(engine, journey.id)] == planned


def test_a_corrected_period_end_replans_the_journey_instead_of_adding_an_event(
    engine: Engine, tmp_path: Path
) -> None:
    clinic = create_clinic(engine)
    journey_campaign(engine, clinic, now=NOW - timedelta(days=5))
    run_import(engine, clinic, [write(tmp_path, "Patient.ndjson", [person("p1")])])
    patient = patient_by_mrn(engine, clinic, "MRN-p1")
    grant(engine, patient)
    run_import(engine, clinic, [write(tmp_path, "Encounter.ndjson", [stay("e1", "p1", LEFT)])])
    (journey,) = journeys(engine, patient.id)
    assert texts(engine, journey.id)[0].send_at == LEFT + timedelta(hours=48)

    later = LEFT + timedelta(hours=5)  # the ward corrected the discharge time
    fixed = write(tmp_path, "Encounter.ndjson", [stay("e1", "p1", later, version="2")])
    summary = run_import(engine, clinic, [fixed], now=NOW + timedelta(minutes=10))
    assert counts(summary, "Encounter")["updated"] == 1
    assert (summary.events.recorded, summary.events.corrected, summary.events.journeys_started) == (0, 1, 0)
    (event,) = events(engine, clinic)
    assert event.occurred_at == later
    (same,) = journeys(engine, patient.id)
    assert (same.id, same.anchor_at) == (journey.id, later)
    assert texts(engine, journey.id)[0].send_at == later + timedelta(hours=48)
    assert run_import(engine, clinic, [fixed], now=NOW + timedelta(minutes=20)).events.corrected == 0


def test_an_unfinished_encounter_is_skipped_until_it_finishes_and_a_withdrawn_one_ends_its_journey(
    engine: Engine, tmp_path: Path
) -> None:
    clinic = create_clinic(engine)
    journey_campaign(engine, clinic, now=NOW - timedelta(days=5), location="Ward 4B")
    run_import(engine, clinic, [write(tmp_path, "Patient.ndjson", [person("p1")])])
    patient = patient_by_mrn(engine, clinic, "MRN-p1")
    grant(engine, patient)
    admitted = write(tmp_path, "Encounter.ndjson", [stay("e1", "p1", None, status="in-progress")])
    summary = run_import(engine, clinic, [admitted])
    assert [(n.id, n.reason) for n in summary.skipped] == [
        ("e1", "status 'in-progress': not finished, so no discharge")
    ]
    assert events(engine, clinic) == []

    run_import(engine, clinic, [write(tmp_path, "Encounter.ndjson", [stay("e1", "p1", LEFT, version="2")])])
    (journey,) = journeys(engine, patient.id)
    assert journey.status == JourneyStatus.ACTIVE

    error = write(
        tmp_path, "Encounter.ndjson", [stay("e1", "p1", LEFT, status="entered-in-error", version="3")]
    )
    summary = run_import(engine, clinic, [error])
    assert (counts(summary, "Encounter")["updated"], summary.events.deleted) == (1, 1)
    (ended,) = journeys(engine, patient.id)
    assert (ended.status, ended.end_reason) == (JourneyStatus.ENDED, "event_deleted")
    assert texts(engine, journey.id) == []


def test_an_encounter_in_a_transaction_bundle_finds_its_patient_by_full_url(
    engine: Engine, tmp_path: Path
) -> None:
    clinic = create_clinic(engine)
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:pat",
                "resource": person("p9"),
                "request": {"method": "PUT", "url": "Patient/p9"},
            },
            {
                "fullUrl": "urn:uuid:enc",
                "resource": {**stay("e9", "p9", LEFT), "subject": {"reference": "urn:uuid:pat"}},
                "request": {"method": "PUT", "url": "Encounter/e9"},
            },
        ],
    }
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    summary = run_import(engine, clinic, [path])
    assert counts(summary, "Encounter")["created"] == 1
    (event,) = events(engine, clinic)
    assert (event.patient_id, event.location, event.visit_type) == (
        patient_by_mrn(engine, clinic, "MRN-p9").id,
        "Ward 4B",
        "Hip replacement",
    )


def test_another_clinics_patient_is_never_matched(engine: Engine, tmp_path: Path) -> None:
    ours, theirs = create_clinic(engine), create_clinic(engine, name="Other Clinic", phone="+12025550111")
    journey_campaign(engine, theirs, now=NOW - timedelta(days=5))
    run_import(engine, theirs, [write(tmp_path, "Patient.ndjson", [person("p1")])])
    grant(engine, patient_by_mrn(engine, theirs, "MRN-p1"))
    summary = run_import(engine, ours, [write(tmp_path, "Encounter.ndjson", [stay("e1", "p1", LEFT)])])
    assert [(n.id, n.reason) for n in summary.rejected] == [
        ("e1", "subject: Patient/p1 is not a patient outreach knows for this clinic and source")
    ]
    assert events(engine, ours) == events(engine, theirs) == []
    assert journeys(engine, patient_by_mrn(engine, theirs, "MRN-p1").id) == []


def test_a_fulfilled_visit_is_an_event_its_rule_enrolls_once_and_a_cancellation_withdraws(
    engine: Engine, tmp_path: Path
) -> None:
    clinic = create_clinic(engine)
    campaign = make_campaign(
        engine, clinic, now=NOW - timedelta(days=5), name="After a follow-up", kind="checkin",
        anchor_event="visit_fulfilled", steps=SIX_WEEKS,
    )  # fmt: skip
    with session_scope(engine) as session:
        rule = RuleIn(event_kind=EventKind.VISIT_FULFILLED, visit_type="Follow-up", campaign_id=campaign.id)
        journeys_service.create_rule(session=session, clinic_id=clinic.id, data=rule, now=NOW)
    launch_now(engine, campaign, now=NOW - timedelta(days=5))
    run_import(engine, clinic, [write(tmp_path, "Patient.ndjson", [person("p1")])])
    patient = patient_by_mrn(engine, clinic, "MRN-p1")
    grant(engine, patient)
    seen: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": "a1",
        "status": "fulfilled",
        "start": "2026-12-02T09:00:00-05:00",
        "end": "2026-12-02T09:30:00-05:00",
        "appointmentType": {"coding": [{"code": "FOLLOWUP", "display": "Follow-up"}]},
        "participant": [
            {"actor": {"reference": "Patient/p1"}, "status": "accepted"},
            {"actor": {"reference": "Location/1", "display": "Clinic B"}, "status": "accepted"},
        ],
    }
    visit = write(tmp_path, "Appointment.ndjson", [seen])
    summary = run_import(engine, clinic, [visit])
    assert (summary.events.recorded, summary.events.journeys_started) == (1, 1)
    (event,) = events(engine, clinic)
    assert (event.kind, event.occurred_at, event.visit_type, event.location) == (
        EventKind.VISIT_FULFILLED,
        datetime(2026, 12, 2, 14, 30, tzinfo=UTC),
        "Follow-up",
        "Clinic B",
    )
    again = run_import(engine, clinic, [visit])
    assert (
        counts(again, "Appointment")["unchanged"],
        again.events.recorded,
        again.events.journeys_started,
    ) == (1, 0, 0)
    assert len(journeys(engine, patient.id)) == 1

    run_import(
        engine, clinic, [write(tmp_path, "Appointment.ndjson", [{**seen, "status": "entered-in-error"}])]
    )
    (journey,) = journeys(engine, patient.id)
    assert (journey.status, journey.end_reason) == (JourneyStatus.ENDED, "event_deleted")


def test_a_discharge_long_past_is_history_and_starts_nothing(engine: Engine, tmp_path: Path) -> None:
    clinic = create_clinic(engine)
    journey_campaign(engine, clinic, now=NOW - timedelta(days=5))
    run_import(engine, clinic, [write(tmp_path, "Patient.ndjson", [person("p1")])])
    grant(engine, patient_by_mrn(engine, clinic, "MRN-p1"))
    old = stay("e-2016", "p1", datetime(2016, 7, 4, 18, 29, tzinfo=UTC))
    recent = stay("e-recent", "p1", NOW - timedelta(days=89))
    summary = run_import(engine, clinic, [write(tmp_path, "Encounter.ndjson", [old, recent])])
    assert [(n.id, n.reason) for n in summary.skipped] == [
        ("e-2016", "a discharge on 2016-07-04, over 90 days before this import: history, not recorded")
    ]
    assert (summary.events.history, summary.events.recorded, summary.events.journeys_started) == (1, 1, 1)
    assert [e.occurred_at for e in events(engine, clinic)] == [NOW - timedelta(days=89)]


def test_the_command_counts_encounters_in_its_json_summary(settings: Settings, engine: Engine) -> None:
    clinic = create_clinic(engine)
    env = outreach_env(
        database_url=settings.database_url, broker_url="filesystem://", data_dir=settings.data_dir
    )
    args = [sys.executable, "-m", "outreach.cli", "fhir", "import", "--clinic", str(clinic.id), "--json"]
    result = subprocess.run(
        [*args, *map(str, EXPORT)], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 1, result.stderr  # some resources were rejected
    summary = json.loads(result.stdout)
    assert summary["counts"]["Encounter"] == {
        "created": 2, "updated": 0, "unchanged": 0, "skipped": 2, "rejected": 1
    }  # fmt: skip
    assert summary["events"]["recorded"] == 2
    assert {s["id"] for s in summary["skipped"] if s["resource_type"] == "Encounter"} == {"example", "f202"}
