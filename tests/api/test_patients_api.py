"""Patients over HTTP: CRUD, filters, consent ledger, appointments, imports; 422s name field and value."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.factories import auth, create_clinic, create_key, create_patient

NEW = {"external_id": "MRN-1", "given_name": "Rosa", "phone": "(202) 555-0142", "language": "es-MX"}


def _key(engine: Engine) -> dict[str, str]:
    return auth(create_key(engine, create_clinic(engine, timezone="America/Chicago")))


def test_create_then_update_a_patient(client: TestClient, engine: Engine) -> None:
    headers = _key(engine)
    created = client.post("/admin/patients", headers=headers, json=NEW)
    assert created.status_code == 201
    body = created.json()
    assert (body["phone"], body["timezone"], body["consent"]) == (
        "+12025550142",
        "America/Chicago",
        {"status": "unknown", "source": None, "recorded_at": None},
    )

    changed = client.patch(f"/admin/patients/{body['id']}", headers=headers, json={"language": "vi"})

    assert changed.status_code == 200
    assert changed.json()["language"] == "vi"
    assert client.get(f"/admin/patients/{body['id']}", headers=headers).json()["language"] == "vi"


def test_invalid_fields_are_422_naming_field_and_value(client: TestClient, engine: Engine) -> None:
    headers = _key(engine)
    cases = {"phone": "555-12", "language": "not a tag", "timezone": "Mars/Base"}
    for field, value in cases.items():
        response = client.post("/admin/patients", headers=headers, json={**NEW, field: value})
        assert response.status_code == 422, field
        (item,) = response.json()["detail"]
        assert item["field"] == field
        assert value in item["reason"]


def test_list_filters_by_language_consent_and_upcoming_visit(client: TestClient, engine: Engine) -> None:
    clinic = create_clinic(engine)
    headers = auth(create_key(engine, clinic))
    spanish = create_patient(engine, clinic, language="es")
    create_patient(engine, clinic, language="vi")
    create_patient(engine, clinic, language="es", consent="revoked")
    visit = {"starts_at": "2099-01-05T09:00:00-05:00", "location": "Room 1"}
    assert (
        client.post(f"/admin/patients/{spanish.id}/appointments", headers=headers, json=visit).status_code
        == 201
    )

    by_language = client.get(
        "/admin/patients", headers=headers, params={"language": "es", "consent": "granted"}
    )
    upcoming = client.get("/admin/patients", headers=headers, params={"has_upcoming_appointment": True})

    assert [p["id"] for p in by_language.json()] == [str(spanish.id)]
    assert [p["id"] for p in upcoming.json()] == [str(spanish.id)]


def test_consent_ledger_is_append_only_history(client: TestClient, engine: Engine) -> None:
    clinic = create_clinic(engine)
    headers = auth(create_key(engine, clinic))
    patient = create_patient(engine, clinic)

    revoked = client.post(
        f"/admin/patients/{patient.id}/consent",
        headers=headers,
        json={"status": "revoked", "source": "front desk"},
    )
    history = client.get(f"/admin/patients/{patient.id}/consent", headers=headers).json()

    # The same shape as the consent that was posted, with when it was recorded.
    consent = revoked.json()["consent"]
    assert (consent["status"], consent["source"]) == ("revoked", "front desk")
    assert consent["recorded_at"] == history[-1]["recorded_at"]
    assert [(e["status"], e["source"]) for e in history] == [("granted", "test"), ("revoked", "front desk")]


def test_appointment_reschedule_and_cancel(client: TestClient, engine: Engine) -> None:
    clinic = create_clinic(engine)
    headers = auth(create_key(engine, clinic))
    patient = create_patient(engine, clinic)
    made = client.post(
        f"/admin/patients/{patient.id}/appointments",
        headers=headers,
        json={"starts_at": "2099-01-05T09:00:00-05:00", "location": "Room 1"},
    ).json()

    moved = client.patch(
        f"/admin/appointments/{made['id']}", headers=headers, json={"starts_at": "2099-01-06T10:00:00Z"}
    )
    cancelled = client.post(f"/admin/appointments/{made['id']}/cancel", headers=headers)
    again = client.patch(f"/admin/appointments/{made['id']}", headers=headers, json={"location": "Room 2"})

    assert moved.json()["starts_at"].startswith("2099-01-06T10:00:00")
    assert cancelled.json()["status"] == "cancelled"
    assert again.status_code == 409


def test_naive_appointment_time_is_422(client: TestClient, engine: Engine) -> None:
    clinic = create_clinic(engine)
    headers = auth(create_key(engine, clinic))
    patient = create_patient(engine, clinic)
    response = client.post(
        f"/admin/patients/{patient.id}/appointments",
        headers=headers,
        json={"starts_at": "2099-01-05T09:00:00"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "starts_at"


def test_json_and_csv_imports_report_bad_rows_and_keep_good_ones(client: TestClient, engine: Engine) -> None:
    headers = _key(engine)
    records = [{"external_id": "J-1", "phone": "202-555-0151"}, {"external_id": "J-2", "phone": "12"}]
    first = client.post("/admin/patients/import", headers=headers, json={"patients": records})
    csv = "external_id,phone,language\nC-1,202-555-0152,fr\nC-2,202-555-0153,??\nJ-1,202-555-0151,\n"
    second = client.post(
        "/admin/patients/import.csv", headers=headers, files={"file": ("p.csv", csv.encode(), "text/csv")}
    )

    assert first.json()["created"] == 1
    assert first.json()["errors"][0]["line"] == 2
    assert second.json()["created"] == 1
    assert second.json()["unchanged"] == 1
    assert [(e["line"], e["field"]) for e in second.json()["errors"]] == [(3, "language")]
    assert len(client.get("/admin/patients", headers=headers).json()) == 2


def test_another_clinics_patient_cannot_be_changed(client: TestClient, engine: Engine) -> None:
    theirs = create_patient(engine, create_clinic(engine, name="Theirs"))
    headers = _key(engine)
    assert (
        client.patch(f"/admin/patients/{theirs.id}", headers=headers, json={"language": "vi"}).status_code
        == 404
    )
    consent = {"status": "revoked", "source": "x"}
    assert (
        client.post(f"/admin/patients/{theirs.id}/consent", headers=headers, json=consent).status_code == 404
    )
