"""Optional patient attributes: validated with 422s naming the field, stored, cleared, imported, unlogged."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from freezegun import freeze_time
from sqlalchemy import text as sql_text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach.db import utcnow
from outreach.patients.attributes import clear_columns, stored_birth_year
from outreach.patients.importing import import_file
from outreach.patients.models import Patient
from outreach.patients.schemas import PatientCreate
from outreach.security import crypto
from tests.factories import auth, create_clinic, create_key

NEW = {"external_id": "MRN-1", "phone": "(202) 555-0142", "language": "es-MX"}
FULL = {
    "birth_date": "1958-04-02",
    "sex": "female",
    "race": ["2106-3", "1002-5", "2106-3"],
    "ethnicity": "2135-2",
    "postal_code": "606121234",
    "interpreter_needed": True,
}


def _headers(engine: Engine) -> dict[str, str]:
    return auth(create_key(engine, create_clinic(engine)))


def test_attributes_are_stored_normalized_and_shown(client: TestClient, engine: Engine) -> None:
    headers = _headers(engine)

    created = client.post("/admin/patients", headers=headers, json={**NEW, **FULL})

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["race"] == ["1002-5", "2106-3"]
    assert (body["birth_date"], body["sex"], body["ethnicity"]) == ("1958-04-02", "female", "2135-2")
    assert (body["postal_code"], body["interpreter_needed"]) == ("60612-1234", True)
    with Session(engine) as session:
        stored = session.exec(select(Patient)).one()
    assert stored.race == "1002-5,2106-3"


def test_a_patient_without_attributes_has_them_null(client: TestClient, engine: Engine) -> None:
    body = client.post("/admin/patients", headers=_headers(engine), json=NEW).json()
    assert [body[k] for k in FULL] == [None] * 6


@freeze_time("2026-12-03 12:00:00")
@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("birth_date", "2026-12-04", "in the future"),
        ("birth_date", "1899-12-31", "before 1900"),
        ("birth_date", "04/02/1958", "date"),
        ("sex", "F", "AdministrativeGender"),
        ("race", ["2106-3", "9999-9"], "'9999-9'"),
        ("race", ["ASKU", "2106-3"], "ASKU and UNK cannot be combined"),
        ("ethnicity", "2106-3", "OMB ethnicity"),
        ("postal_code", "6061", "'6061'"),
        ("postal_code", "K1A 0B1", "US ZIP"),
        ("interpreter_needed", "perhaps", "boolean"),
    ],
)
def test_bad_attributes_are_422_naming_the_field(
    client: TestClient, engine: Engine, field: str, value: object, shown: str
) -> None:
    headers = _headers(engine)

    response = client.post("/admin/patients", headers=headers, json={**NEW, field: value})

    assert response.status_code == 422
    (item,) = response.json()["detail"]
    assert item["field"].split(".")[0] == field
    assert shown in item["reason"]
    assert client.get("/admin/patients", headers=headers).json() == []


@freeze_time("2026-12-03 12:00:00")
def test_today_is_an_acceptable_birth_date(client: TestClient, engine: Engine) -> None:
    response = client.post(
        "/admin/patients", headers=_headers(engine), json={**NEW, "birth_date": "2026-12-03"}
    )
    assert response.status_code == 201


def test_update_changes_leaves_and_clears_attributes(client: TestClient, engine: Engine) -> None:
    headers = _headers(engine)
    made = client.post("/admin/patients", headers=headers, json={**NEW, **FULL}).json()

    untouched = client.patch(f"/admin/patients/{made['id']}", headers=headers, json={"language": "vi"}).json()
    changed = client.patch(
        f"/admin/patients/{made['id']}", headers=headers, json={"race": ["UNK"], "postal_code": None}
    ).json()

    assert (untouched["race"], untouched["postal_code"]) == (["1002-5", "2106-3"], "60612-1234")
    assert (changed["race"], changed["postal_code"], changed["sex"]) == (["UNK"], None, "female")
    bad = client.patch(f"/admin/patients/{made['id']}", headers=headers, json={"sex": "M"})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["field"] == "sex"


def test_birth_date_and_zip_are_stored_encrypted_beside_the_clear_year_and_zip3(
    client: TestClient, engine: Engine
) -> None:
    headers = _headers(engine)
    made = client.post("/admin/patients", headers=headers, json={**NEW, **FULL}).json()
    query = sql_text(
        "SELECT birth_date_encrypted, birth_year, postal_code_encrypted, postal3 FROM patient WHERE id = :id"
    )
    ident = made["id"].replace("-", "") if engine.dialect.name == "sqlite" else made["id"]
    ring = crypto.active()
    with engine.connect() as conn:
        born, year, code, zip3 = conn.execute(query, {"id": ident}).one()
    assert "1958" not in born
    assert "60612" not in code
    assert (ring.decrypt(born), year, ring.decrypt(code), zip3) == ("1958-04-02", 1958, "60612-1234", "606")

    changed = client.patch(
        f"/admin/patients/{made['id']}",
        headers=headers,
        json={"birth_date": "1930-05-05", "postal_code": None},
    )
    assert changed.json()["birth_date"] == "1930-05-05"  # read in the clear as recorded
    with engine.connect() as conn:
        born, year, code, zip3 = conn.execute(query, {"id": ident}).one()
    assert (ring.decrypt(born), year, code, zip3) == ("1930-05-05", utcnow().year - 90, None, None)
    with pytest.raises(TypeError, match="blind index"):
        select(Patient).where(col(Patient.birth_date) == date(1930, 5, 5))


def test_the_clear_birth_year_makes_nobody_older_than_90() -> None:
    today = date(2026, 12, 4)
    assert stored_birth_year(date(1930, 5, 5), today=today) == 1936  # 96: stored as 2026 - 90
    assert stored_birth_year(date(1936, 12, 31), today=today) == 1936  # 90 this year: kept
    assert stored_birth_year(date(1937, 1, 1), today=today) == 1937  # 89
    assert stored_birth_year(None, today=today) is None
    assert clear_columns(birth_date=date(1958, 4, 2), postal_code="02139", today=today) == {
        "birth_year": 1958,
        "postal3": "021",
    }


def test_csv_import_reads_attributes_and_reports_bad_ones_by_line(engine: Engine, tmp_path: Path) -> None:
    clinic = create_clinic(engine)
    path = tmp_path / "p.csv"
    path.write_text(
        "external_id,phone,birth_date,sex,race,ethnicity,postal_code,interpreter_needed\n"
        'A-1,202-555-0101,1980-01-31,male,"2054-5,2028-9",2186-5,20001,yes\n'
        "A-2,202-555-0102,,,,,,\n"
        "A-3,202-555-0103,2999-01-01,,,,,\n"
        "A-4,202-555-0104,,,2054-5;XX,,,\n",
        encoding="utf-8",
    )

    report = import_file(engine=engine, clinic_id=clinic.id, path=path, progress=None)
    again = import_file(engine=engine, clinic_id=clinic.id, path=path, progress=None)

    assert report.created == 2
    assert [(e.line, e.field) for e in report.errors] == [(4, "birth_date"), (5, "race")]
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    with Session(engine) as session:
        people = {p.external_id: p for p in session.exec(select(Patient))}
    one = people["A-1"]
    assert (one.birth_date.isoformat() if one.birth_date else None, one.sex, one.race) == (
        "1980-01-31",
        "male",
        "2028-9,2054-5",
    )
    assert (one.ethnicity, one.postal_code, one.interpreter_needed) == ("2186-5", "20001", True)
    assert people["A-2"].race is None
    assert people["A-2"].interpreter_needed is None


def test_json_import_takes_race_as_a_list_and_updates(client: TestClient, engine: Engine) -> None:
    headers = _headers(engine)
    first = {"external_id": "J-1", "phone": "202-555-0151", "race": ["2076-8"]}
    client.post("/admin/patients/import", headers=headers, json={"patients": [first]})

    second = client.post(
        "/admin/patients/import",
        headers=headers,
        json={"patients": [{**first, "race": ["2076-8", "2028-9"]}]},
    ).json()

    assert second["updated"] == 1
    (patient,) = client.get("/admin/patients", headers=headers).json()
    assert patient["race"] == ["2028-9", "2076-8"]


def test_attributes_stay_out_of_repr_and_logs(
    client: TestClient, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    data = PatientCreate.model_validate({**NEW, **FULL})
    client.post("/admin/patients", headers=_headers(engine), json={**NEW, **FULL})
    with Session(engine) as session:
        stored = session.exec(select(Patient)).one()

    for text in (repr(data), repr(stored), caplog.text):
        assert "1958-04-02" not in text
        assert "1958" not in text
        assert "60612" not in text
        assert "2135-2" not in text
