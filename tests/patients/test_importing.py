"""Bulk import: idempotent upsert on external_id, per-line rejections, good rows kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach.errors import Invalid
from outreach.patients.importing import import_file
from outreach.patients.models import Appointment, ConsentEvent, ConsentStatus, Patient
from tests.factories import create_clinic

CSV = """external_id,given_name,phone,language,timezone,consent,appointment_start,appointment_location
A-1,Rosa,(202) 555-0101,es-MX,America/Chicago,granted,2026-06-10T09:00:00-05:00,Sala 2
A-2,Minh,202-555-0102,vi,,granted,,
A-3,Bad Phone,555-12,en,,granted,,
A-4,"Quoted, Name",202.555.0104,klingon-xx-!,,,,
A-5,Zed,202 555 0105,en,Mars/Base,,,
A-6,Ok Again,+1 202 555 0106,en,,revoked,2026-06-11T09:00:00,
"""


def _run(engine: Engine, tmp_path: Path, text: str, name: str = "patients.csv"):  # type: ignore[no-untyped-def]
    clinic = create_clinic(engine)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return clinic, path


def test_bad_lines_are_reported_by_line_number_and_good_ones_are_stored(
    engine: Engine, tmp_path: Path
) -> None:
    clinic, path = _run(engine, tmp_path, CSV)
    seen: list[tuple[int, int]] = []

    report = import_file(
        engine=engine, clinic_id=clinic.id, path=path, progress=lambda d, t: seen.append((d, t))
    )

    assert report.created == 2
    assert [(e.line, e.field) for e in report.errors] == [
        (4, "phone"),
        (5, "language"),
        (6, "timezone"),
        (7, "appointment_start"),
    ]
    assert "'555-12'" in report.errors[0].reason
    assert "'Mars/Base'" in report.errors[2].reason
    assert seen[-1] == (6, 6)
    with Session(engine) as session:
        stored = session.exec(select(Patient).where(Patient.clinic_id == clinic.id)).all()
        visits = session.exec(select(Appointment)).all()
    assert {p.external_id: p.phone for p in stored} == {"A-1": "+12025550101", "A-2": "+12025550102"}
    assert {p.external_id: p.timezone for p in stored}["A-2"] == clinic.timezone
    assert [(v.location, v.starts_at.isoformat()) for v in visits] == [
        ("Sala 2", "2026-06-10T14:00:00+00:00")
    ]


def test_importing_the_same_file_twice_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    clinic, path = _run(engine, tmp_path, CSV)
    import_file(engine=engine, clinic_id=clinic.id, path=path, progress=None)

    again = import_file(engine=engine, clinic_id=clinic.id, path=path, progress=None)

    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    with Session(engine) as session:
        assert len(session.exec(select(Patient)).all()) == 2
        assert len(session.exec(select(Appointment)).all()) == 1
        assert len(session.exec(select(ConsentEvent)).all()) == 2


def test_a_changed_row_updates_the_patient_and_appends_consent(engine: Engine, tmp_path: Path) -> None:
    clinic, path = _run(engine, tmp_path, "external_id,phone,language,consent\nB-1,202-555-0111,en,granted\n")
    import_file(engine=engine, clinic_id=clinic.id, path=path, progress=None)
    path.write_text("external_id,phone,language,consent\nB-1,202-555-0112,pt-BR,revoked\n", encoding="utf-8")

    report = import_file(engine=engine, clinic_id=clinic.id, path=path, progress=None)

    assert report.updated == 1
    with Session(engine) as session:
        patient = session.exec(select(Patient)).one()
        ledger = session.exec(select(ConsentEvent.status).order_by(col(ConsentEvent.recorded_at))).all()
    assert (patient.phone, patient.language, patient.consent) == (
        "+12025550112",
        "pt-BR",
        ConsentStatus.REVOKED,
    )
    assert sorted(ledger) == ["granted", "revoked"]


def test_json_file_import_reports_positions_and_unknown_fields(engine: Engine, tmp_path: Path) -> None:
    records = [
        {"external_id": "J-1", "phone": "202-555-0121", "language": "ko"},
        {"external_id": "J-2", "phone": "202-555-0122", "diagnosis": "private"},
        {"phone": "202-555-0123"},
    ]
    clinic, path = _run(engine, tmp_path, json.dumps(records), name="patients.json")

    report = import_file(engine=engine, clinic_id=clinic.id, path=path, progress=None)

    assert report.created == 1
    assert [(e.line, e.field) for e in report.errors] == [(2, "diagnosis"), (3, "external_id")]


def test_a_file_with_unknown_columns_is_refused_before_any_row(engine: Engine, tmp_path: Path) -> None:
    clinic, path = _run(engine, tmp_path, "external_id,phone,ssn\nC-1,202-555-0131,123\n")
    with pytest.raises(Invalid) as caught:
        import_file(engine=engine, clinic_id=clinic.id, path=path, progress=None)
    assert caught.value.field == "header"
    assert "ssn" in caught.value.reason
