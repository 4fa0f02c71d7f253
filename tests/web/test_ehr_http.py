"""The EHR (FHIR) admin page over plain HTTP: the connection without its secret, Sync now against a local
FHIR server, a failed write-back shown with its error and retried, one clinic never seeing another's."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from outreach.clinics.models import Clinic, Role
from outreach.db import session_scope, utcnow
from outreach.fhir.models import AuthKind, FhirConnection, FhirSyncRun, FhirWriteback, WritebackKind
from outreach.patients.models import Appointment, AppointmentStatus
from tests.factories import create_clinic, create_key, create_patient
from tests.fhir.server import FakeFhir, fhir_server
from tests.fhir.test_sync import connect, patient, visit
from tests.web.conftest import csrf_of, sign_in

PAGE = "/app/admin/fhir"
TOKEN = "static-token"  # the bearer token `connect` stores for the clinic


@pytest.fixture
def fake() -> Iterator[FakeFhir]:
    with fhir_server() as server:
        server.patients["p1"] = patient("p1", "202-555-0161")
        server.put_appointment(visit("a1", "p1", utcnow() + timedelta(days=3)))
        yield server


def _section(html: str, title_id: str) -> str:
    """The page's <section> whose heading has this id."""
    found = re.search(rf'<section aria-labelledby="{title_id}".*?</section>', html, re.S)
    assert found, f"no section {title_id}"
    return found.group(0)


def _post(client: TestClient, path: str) -> str:
    answer = client.post(path, data={"csrf_token": csrf_of(client.get(PAGE))}, follow_redirects=True)
    assert answer.status_code == 200, answer.text
    return str(answer.text)


def _confirm_every_visit(engine: Engine, clinic: Clinic) -> None:
    """What the inbound pipeline does when the patient answers 1 (YES)."""
    with session_scope(engine) as session:
        session.execute(
            update(Appointment)
            .where(col(Appointment.clinic_id) == clinic.id)
            .values(status=AppointmentStatus.CONFIRMED)
        )


def test_sync_now_records_a_run_and_a_failed_write_back_is_shown_then_retried(
    web_client: TestClient, engine: Engine, fake: FakeFhir
) -> None:
    clinic = create_clinic(engine)
    connect(engine, clinic, fake, writeback_enabled=True)
    sign_in(web_client, create_key(engine, clinic))
    first = web_client.get(PAGE)
    assert first.status_code == 200
    connection = _section(first.text, "connection-title")
    assert fake.base_url in connection
    assert "Bearer token" in connection
    assert ">On<" in connection
    assert "No sync has run yet." in first.text
    assert 'aria-current="page">EHR (FHIR)</a>' in first.text

    synced = _post(web_client, f"{PAGE}/sync")
    assert "Sync finished: Appointment: 1 created; Patient: 1 created; 1 page." in synced
    runs = _section(synced, "runs-title")
    assert runs.count('<tr class="run-succeeded">') == 1
    assert "Appointment: 1 created" in runs

    _confirm_every_visit(engine, clinic)
    fake.conflicts_on_put = 2  # the EHR's copy changes under both tries: the write fails, visibly
    _post(web_client, f"{PAGE}/sync")
    page = web_client.get(PAGE).text
    still_open = _section(page, "open-title")
    assert "1 write-back not written to the EHR yet" in still_open
    assert '<tr class="writeback-failed">' in still_open
    assert "update Appointment answered 412" in still_open
    assert "4 of 5 tries left" in still_open
    assert "None yet." in _section(page, "done-title")
    assert _section(page, "runs-title").count('<tr class="run-succeeded">') == 2

    retried = _post(web_client, f"{PAGE}/writebacks/retry")
    assert "Write-backs tried again: 1 written, 0 failed" in retried
    assert "Nothing waiting" in _section(retried, "open-title")
    written = _section(retried, "done-title")
    assert "Appointment/a1/_history/" in written
    assert "Written" in written
    assert fake.appointments["a1"]["participant"][0]["status"] == "accepted"

    for shown in (first.text, synced, page, retried):
        assert TOKEN not in shown
    with session_scope(engine) as session:
        secret = session.exec(select(FhirConnection.secret)).one()
    assert secret not in retried


def _other_clinics_history(engine: Engine) -> None:
    """Another clinic with its own server, a failed run and a failed write-back."""
    other = create_clinic(engine, name="Other Clinic", phone="+12025550199")
    theirs = create_patient(engine, other)
    now = utcnow()
    with session_scope(engine) as session:
        session.add(
            FhirConnection(
                clinic_id=other.id,
                base_url="https://other-ehr.example/fhir",
                auth_kind=AuthKind.BEARER,
                secret="x",
            )
        )
        visit_id = uuid.uuid4()
        session.add(Appointment(id=visit_id, clinic_id=other.id, patient_id=theirs.id, starts_at=now))
        session.add(
            FhirSyncRun(
                clinic_id=other.id, started_at=now, finished_at=now, status="failed", error="OTHER-RUN-ERROR"
            )
        )
        session.flush()
        session.add(
            FhirWriteback(
                clinic_id=other.id,
                appointment_id=visit_id,
                kind=WritebackKind.CONFIRM,
                status="failed",
                attempts=2,
                last_error="OTHER-WRITEBACK-ERROR",
            )
        )


def test_a_clinic_sees_only_its_own_runs_and_every_open_write_back_however_old(
    web_client: TestClient, engine: Engine
) -> None:
    _other_clinics_history(engine)
    clinic = create_clinic(engine)
    person = create_patient(engine, clinic)
    long_ago = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    with session_scope(engine) as session:
        session.add(FhirSyncRun(clinic_id=clinic.id, started_at=long_ago, status="failed", error="HTTP 503"))
        visits = [
            Appointment(clinic_id=clinic.id, patient_id=person.id, starts_at=long_ago + timedelta(days=n))
            for n in range(61)
        ]
        session.add_all(visits)
        session.flush()
        # One write-back gave up long ago; sixty newer ones were written since. It is still listed.
        session.add(
            FhirWriteback(
                clinic_id=clinic.id,
                appointment_id=visits[0].id,
                kind=WritebackKind.CANCEL_TASK,
                status="given_up",
                attempts=5,
                last_error="create Task answered 500",
                updated_at=long_ago,
            )
        )
        for n, v in enumerate(visits[1:]):
            session.add(
                FhirWriteback(
                    clinic_id=clinic.id,
                    appointment_id=v.id,
                    kind=WritebackKind.CONFIRM,
                    status="done",
                    attempts=1,
                    result_ref=f"Appointment/v{n}/_history/2",
                    updated_at=long_ago + timedelta(days=1 + n),
                )
            )
    sign_in(web_client, create_key(engine, clinic))
    page = web_client.get(PAGE)
    assert page.status_code == 200
    assert "OTHER-RUN-ERROR" not in page.text
    assert "OTHER-WRITEBACK-ERROR" not in page.text
    assert "other-ehr.example" not in page.text
    assert "Not connected." in _section(page.text, "connection-title")
    assert "Sync now" not in page.text
    assert "HTTP 503" in _section(page.text, "runs-title")
    still_open = _section(page.text, "open-title")
    assert '<tr class="writeback-given_up">' in still_open
    assert "Gave up" in still_open
    assert "create Task answered 500" in still_open
    assert "make this change in the EHR by hand" in still_open
    assert "Visit 2026-01-05 09:00 UTC" in still_open
    assert f"/app/admin/patients/{person.id}" in still_open
    assert _section(page.text, "done-title").count('<tr class="writeback-done">') == 50  # the latest fifty


def test_sync_without_a_connection_says_so_and_the_page_is_for_admins_only(
    web_client: TestClient, engine: Engine
) -> None:
    clinic = create_clinic(engine)
    sign_in(web_client, create_key(engine, clinic))
    refused = web_client.post(f"{PAGE}/sync", data={"csrf_token": csrf_of(web_client.get(PAGE))})
    assert refused.status_code == 409
    assert "This clinic is not connected to an EHR" in refused.text
    with session_scope(engine) as session:
        assert session.exec(select(FhirSyncRun)).all() == []
    assert web_client.post(f"{PAGE}/sync", data={}).status_code == 403  # no CSRF token

    web_client.cookies.clear()
    sign_in(web_client, create_key(engine, clinic, Role.COORDINATOR))
    page = web_client.get(PAGE)
    assert page.status_code == 403
    assert "This page is for admin keys" in page.text
    assert 'href="/app/admin/fhir"' not in page.text  # nor in the coordinator's navigation
    answer = web_client.post(f"{PAGE}/writebacks/retry", data={"csrf_token": csrf_of(page)})
    assert answer.status_code == 403
