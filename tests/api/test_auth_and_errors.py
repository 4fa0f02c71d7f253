"""Auth, tenancy and bad input on the admin API."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from outreach.auth import revoke_key
from outreach.clinics.models import ApiKey, Role
from outreach.db import session_scope
from tests.factories import auth, create_clinic, create_key, create_patient


def test_no_key_is_401(client: TestClient) -> None:
    response = client.get("/admin/patients")
    assert response.status_code == 401
    assert response.json()["detail"] == "missing API key"


def test_unknown_key_is_401(client: TestClient, engine: Engine) -> None:
    clinic = create_clinic(engine)
    real = create_key(engine, clinic)
    forged = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")
    assert client.get("/admin/patients", headers=auth(forged)).status_code == 401
    assert client.get("/admin/patients", headers=auth("not-a-key")).status_code == 401


def test_revoked_key_is_401(client: TestClient, engine: Engine) -> None:
    clinic = create_clinic(engine)
    key = create_key(engine, clinic)
    assert client.get("/admin/patients", headers=auth(key)).status_code == 200
    with session_scope(engine) as session:
        row = session.exec(select(ApiKey).where(ApiKey.clinic_id == clinic.id)).one()
        assert revoke_key(session=session, clinic_id=clinic.id, key_id=row.id)
    assert client.get("/admin/patients", headers=auth(key)).status_code == 401


def test_key_in_x_api_key_header_works(client: TestClient, engine: Engine) -> None:
    key = create_key(engine, create_clinic(engine))
    assert client.get("/admin/patients", headers={"X-API-Key": key}).status_code == 200


def test_coordinator_key_on_admin_route_is_403(client: TestClient, engine: Engine) -> None:
    key = create_key(engine, create_clinic(engine), Role.COORDINATOR)
    response = client.get("/admin/patients", headers=auth(key))
    assert response.status_code == 403
    assert "admin" in response.json()["detail"]


def test_another_clinics_patient_is_404(client: TestClient, engine: Engine) -> None:
    mine, theirs = create_clinic(engine, name="Mine"), create_clinic(engine, name="Theirs")
    their_patient = create_patient(engine, theirs)
    key = create_key(engine, mine)
    assert client.get(f"/admin/patients/{their_patient.id}", headers=auth(key)).status_code == 404
    listed = client.get("/admin/patients", headers=auth(key)).json()
    assert listed == []
    response = client.post(
        "/admin/messages", headers=auth(key), json={"patient_id": str(their_patient.id), "body": "Hello"}
    )
    assert response.status_code == 404
    assert response.json()["detail"] == "patient not found"


def test_malformed_json_is_422_naming_body(client: TestClient, engine: Engine) -> None:
    key = create_key(engine, create_clinic(engine))
    headers = {**auth(key), "Content-Type": "application/json"}
    response = client.post("/admin/patients", headers=headers, content=b'{"external_id": "A1", ')
    assert response.status_code == 422
    [item] = response.json()["detail"]
    assert item["field"] == "body"
    assert "malformed JSON" in item["reason"]


def test_unknown_field_is_422_naming_it(client: TestClient, engine: Engine) -> None:
    key = create_key(engine, create_clinic(engine))
    body = {"external_id": "A1", "phone": "+12025550111", "diagnosis": "x"}
    response = client.post("/admin/patients", headers=auth(key), json=body)
    assert response.status_code == 422
    assert {"field": "diagnosis", "reason": "unknown field"} in response.json()["detail"]


def test_wrong_type_is_422_naming_field(client: TestClient, engine: Engine) -> None:
    key = create_key(engine, create_clinic(engine))
    response = client.post("/admin/messages", headers=auth(key), json={"patient_id": 12, "body": "Hi"})
    assert response.status_code == 422
    assert [item["field"] for item in response.json()["detail"]] == ["patient_id"]


def test_invalid_phone_is_422_and_nothing_written(client: TestClient, engine: Engine) -> None:
    key = create_key(engine, create_clinic(engine))
    response = client.post("/admin/patients", headers=auth(key), json={"external_id": "A1", "phone": "12"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "phone"
    assert client.get("/admin/patients", headers=auth(key)).json() == []


def test_invalid_language_and_timezone_are_422(client: TestClient, engine: Engine) -> None:
    key = create_key(engine, create_clinic(engine))
    bad_lang = {"external_id": "A1", "phone": "+12025550111", "language": "not a tag!"}
    bad_tz = {"external_id": "A2", "phone": "+12025550112", "timezone": "Mars/Olympus"}
    assert (
        client.post("/admin/patients", headers=auth(key), json=bad_lang).json()["detail"][0]["field"]
        == "language"
    )
    assert (
        client.post("/admin/patients", headers=auth(key), json=bad_tz).json()["detail"][0]["field"]
        == "timezone"
    )
