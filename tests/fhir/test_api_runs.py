"""The sync routes of the admin API: run a sync now, then its run and write-backs listed, clinic-scoped."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.engine import Engine

from outreach.db import session_scope, utcnow
from outreach.patients.models import Appointment, AppointmentStatus
from tests.factories import auth, create_clinic, create_key
from tests.fhir.server import fhir_server
from tests.fhir.test_sync import connect, patient, visit


def test_sync_now_then_runs_and_write_backs_are_listed_for_the_clinic_only(
    client: TestClient, engine: Engine
) -> None:
    clinic = create_clinic(engine)
    key = auth(create_key(engine, clinic))
    other = auth(create_key(engine, create_clinic(engine, name="Other", phone="+12025550197")))
    with fhir_server() as fake:
        fake.patients["p1"] = patient("p1", "202-555-0161")
        fake.put_appointment(visit("a1", "p1", utcnow() + timedelta(days=3)))
        connect(engine, clinic, fake, writeback_enabled=True)
        first = client.post("/admin/fhir/sync", headers=key)
        assert first.status_code == 200, first.text
        assert (first.json()["status"], first.json()["counts"]["Patient"]["created"]) == ("succeeded", 1)
        with session_scope(engine) as session:
            session.execute(update(Appointment).values(status=AppointmentStatus.CONFIRMED))
        assert client.post("/admin/fhir/sync", headers=key).status_code == 200  # writes the confirmation
    runs = client.get("/admin/fhir/runs", headers=key).json()
    assert [r["status"] for r in runs] == ["succeeded", "succeeded"]
    assert runs[0]["started_at"] >= runs[1]["started_at"]
    [written] = client.get("/admin/fhir/writebacks", headers=key).json()
    assert (written["kind"], written["status"], written["attempts"]) == ("confirm", "done", 1)
    assert written["result_ref"] == "Appointment/a1/_history/2"
    assert client.get("/admin/fhir/runs", headers=other).json() == []
    assert client.get("/admin/fhir/writebacks", headers=other).json() == []
    assert client.post("/admin/fhir/sync", headers=other).status_code == 404
