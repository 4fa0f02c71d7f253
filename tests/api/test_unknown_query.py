"""A misspelt query parameter on an admin list route is refused, naming it, instead of being ignored."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.factories import auth, create_clinic, create_key, create_patient


def _texts_to_two_patients(client: TestClient, engine: Engine) -> tuple[str, str]:
    clinic = create_clinic(engine)
    key = create_key(engine, clinic)
    first, second = create_patient(engine, clinic), create_patient(engine, clinic)
    for patient in (first, second):
        body = {"patient_id": str(patient.id), "body": "Your visit is next week."}
        assert client.post("/admin/messages", headers=auth(key), json=body).status_code == 201
    return key, str(first.id)


def test_messages_filter_by_patient_still_works(client: TestClient, engine: Engine) -> None:
    key, patient_id = _texts_to_two_patients(client, engine)
    assert len(client.get("/admin/messages", headers=auth(key)).json()) == 2
    listed = client.get("/admin/messages", headers=auth(key), params={"patient_id": patient_id, "limit": 10})
    assert listed.status_code == 200
    assert [m["patient_id"] for m in listed.json()] == [patient_id]


def test_misspelt_messages_filter_is_422_naming_it(client: TestClient, engine: Engine) -> None:
    key, patient_id = _texts_to_two_patients(client, engine)
    response = client.get("/admin/messages", headers=auth(key), params={"patinet_id": patient_id})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation_error"
    [item] = body["detail"]
    assert item["field"] == "patinet_id"
    assert "unknown query parameter" in item["reason"]
    assert "patient_id" in item["reason"]  # names what the route does take


def test_other_admin_list_routes_refuse_unknown_parameters(client: TestClient, engine: Engine) -> None:
    key = create_key(engine, create_clinic(engine))
    for path in ("/admin/patients", "/admin/campaigns", "/admin/senders", "/admin/languages"):
        assert client.get(path, headers=auth(key)).status_code == 200, path
        response = client.get(path, headers=auth(key), params={"stauts": "sent"})
        assert response.status_code == 422, path
        assert response.json()["detail"][0]["field"] == "stauts", path


def test_unknown_parameter_without_a_key_is_still_401(client: TestClient) -> None:
    response = client.get("/admin/messages", params={"patinet_id": "x"})
    assert response.status_code == 401
