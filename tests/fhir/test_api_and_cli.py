"""The FHIR import through the admin API and `outreach fhir import`, and the connection routes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from outreach.clinics.models import Role
from outreach.config import Settings
from tests.factories import auth, create_clinic, create_key
from tests.processes import outreach_env

SAMPLES = Path(__file__).parent / "samples"


def _files(*names: str) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (name, (SAMPLES / name).read_bytes(), "application/fhir+ndjson")) for name in names]


def test_upload_imports_and_names_every_rejected_resource(client: TestClient, engine: Engine) -> None:
    clinic = create_clinic(engine)
    key = create_key(engine, clinic)
    # Appointments first on purpose: the patients file is read first all the same.
    response = client.post(
        "/admin/fhir/import", files=_files("Appointment.ndjson", "Patient.ndjson"), headers=auth(key)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["counts"]["Patient"] == {
        "created": 11,
        "updated": 0,
        "unchanged": 0,
        "skipped": 0,
        "rejected": 1,
    }
    assert body["counts"]["Appointment"] == {
        "created": 9,
        "updated": 0,
        "unchanged": 0,
        "skipped": 1,
        "rejected": 1,
    }
    assert {(r["resource_type"], r["id"]) for r in body["rejected"]} == {
        ("Patient", "2af7234a-0e72-328d-fb74-63fd3b960d76"),
        ("Appointment", "appt-1010"),
    }
    again = client.post(
        "/admin/fhir/import", files=_files("bundle-collection.json"), headers=auth(key)
    ).json()
    assert again["counts"]["Patient"]["unchanged"] == 11
    assert again["counts"]["Appointment"]["unchanged"] == 9


def test_upload_of_a_broken_bundle_is_a_422_naming_the_file(client: TestClient, engine: Engine) -> None:
    key = create_key(engine, create_clinic(engine))
    files = [
        ("files", ("export.json", b'{"resourceType": "Bundle", "type": "history-ish"}', "application/json"))
    ]
    response = client.post("/admin/fhir/import", files=files, headers=auth(key))
    assert response.status_code == 422
    [item] = response.json()["detail"]
    assert item["field"] == "files.export.json"
    assert "Bundle" in item["reason"]


def test_only_admins_import_and_connect(client: TestClient, engine: Engine) -> None:
    key = create_key(engine, create_clinic(engine), Role.COORDINATOR)
    assert (
        client.post("/admin/fhir/import", files=_files("Patient.ndjson"), headers=auth(key)).status_code
        == 403
    )
    assert client.get("/admin/fhir/connection", headers=auth(key)).status_code == 403


def test_connection_credentials_go_in_and_never_come_out(client: TestClient, engine: Engine) -> None:
    key = create_key(engine, create_clinic(engine))
    data = {"base_url": "https://ehr.example/fhir/", "auth_kind": "bearer", "bearer_token": "tok-value-123"}
    response = client.put("/admin/fhir/connection", json=data, headers=auth(key))
    assert response.status_code == 200, response.text
    assert "tok-value-123" not in response.text
    shown = client.get("/admin/fhir/connection", headers=auth(key)).json()
    assert (shown["base_url"], shown["has_credentials"], shown["writeback_enabled"]) == (
        "https://ehr.example/fhir",
        True,
        False,
    )
    assert "tok-value-123" not in json.dumps(shown)
    missing = client.put("/admin/fhir/connection", json={**data, "bearer_token": None}, headers=auth(key))
    assert missing.status_code == 422
    assert "bearer_token is needed" in missing.text
    other = create_key(engine, create_clinic(engine, name="Other", phone="+12025550197"))
    assert client.get("/admin/fhir/connection", headers=auth(other)).status_code == 404


def test_cli_import_prints_the_summary_as_one_json_object(settings: Settings, engine: Engine) -> None:
    clinic = create_clinic(engine)
    env = outreach_env(
        database_url=settings.database_url, broker_url="filesystem://", data_dir=settings.data_dir
    )
    paths = [str(SAMPLES / "Patient.ndjson"), str(SAMPLES / "Appointment.ndjson")]
    args = [
        sys.executable,
        "-m",
        "outreach.cli",
        "fhir",
        "import",
        "--clinic",
        str(clinic.id),
        "--json",
        *paths,
    ]
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1, result.stderr  # some resources were rejected
    summary = json.loads(result.stdout)
    assert summary["counts"]["Patient"]["created"] == 11
    assert [s["id"] for s in summary["skipped"]] == ["examplereq"]
    again = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert json.loads(again.stdout)["counts"]["Appointment"]["unchanged"] == 9
