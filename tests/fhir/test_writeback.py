"""Write-back to the EHR: confirmations with If-Match, one retry on conflict, cancel Tasks, failures kept."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import insert, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach.clinics.models import Clinic
from outreach.db import session_scope, utcnow
from outreach.fhir import writeback
from outreach.fhir.models import FhirWriteback
from outreach.inbox.models import InboundMessage
from outreach.messaging.models import OutboundMessage
from outreach.patients.models import Appointment, AppointmentStatus
from tests.factories import create_clinic
from tests.fhir.server import FakeFhir, fhir_server
from tests.fhir.test_sync import connect, patient, sync, visit


@pytest.fixture
def fake() -> Iterator[FakeFhir]:
    with fhir_server() as server:
        server.patients["p1"] = patient("p1", "202-555-0161")
        server.put_appointment(visit("a1", "p1", utcnow() + timedelta(days=3)))
        yield server


def _synced(engine: Engine, fake: FakeFhir, *, enabled: bool = True) -> tuple[Clinic, uuid.UUID]:
    clinic = create_clinic(engine)
    connect(engine, clinic, fake, writeback_enabled=enabled)
    assert sync(engine, clinic).status == "succeeded"
    with Session(engine) as session:
        appointment_id = session.exec(select(Appointment.id)).one()
    return clinic, appointment_id


def _confirm_by_text(engine: Engine, appointment_id: uuid.UUID) -> None:
    """What the inbound pipeline does when a patient answers 1 (YES)."""
    with session_scope(engine) as session:
        session.execute(
            update(Appointment)
            .where(col(Appointment.id) == appointment_id)
            .values(status=AppointmentStatus.CONFIRMED)
        )


def _write_back(engine: Engine, clinic: Clinic) -> dict[str, int]:
    with httpx.Client(timeout=10) as http:
        return writeback.run(engine=engine, clinic_id=clinic.id, http=http)


def _rows(engine: Engine) -> list[FhirWriteback]:
    with Session(engine) as session:
        return list(session.exec(select(FhirWriteback)))


def _puts(fake: FakeFhir) -> list[dict[str, str]]:
    return [headers for method, path, _, headers in fake.requests if method == "PUT"]


def test_write_back_is_off_unless_the_clinic_turns_it_on(engine: Engine, fake: FakeFhir) -> None:
    clinic, appointment_id = _synced(engine, fake, enabled=False)
    _confirm_by_text(engine, appointment_id)
    assert _write_back(engine, clinic) == {"done": 0, "failed": 0}
    assert _puts(fake) == []
    assert _rows(engine) == []


def test_a_confirmed_visit_marks_the_patient_accepted_with_if_match(engine: Engine, fake: FakeFhir) -> None:
    clinic, appointment_id = _synced(engine, fake)
    _confirm_by_text(engine, appointment_id)
    assert _write_back(engine, clinic) == {"done": 1, "failed": 0}
    [put] = _puts(fake)
    assert put["If-Match"] == 'W/"1"'
    saved = fake.appointments["a1"]
    assert saved["meta"]["versionId"] == "2"
    statuses = [(p["actor"]["reference"], p["status"]) for p in saved["participant"]]
    assert statuses == [("Patient/p1", "accepted"), ("Location/1", "accepted")]
    [row] = _rows(engine)
    assert (row.kind, row.status, row.attempts, row.result_ref) == (
        "confirm",
        "done",
        1,
        "Appointment/a1/_history/2",
    )
    assert _write_back(engine, clinic) == {"done": 0, "failed": 0}  # written once, audited once
    assert len(_puts(fake)) == 1


def test_a_version_conflict_is_read_again_and_tried_once_more(engine: Engine, fake: FakeFhir) -> None:
    clinic, appointment_id = _synced(engine, fake)
    _confirm_by_text(engine, appointment_id)
    fake.conflicts_on_put = 1
    assert _write_back(engine, clinic) == {"done": 1, "failed": 0}
    assert [p["If-Match"] for p in _puts(fake)] == ['W/"1"', 'W/"2"']  # never over the newer version
    assert fake.appointments["a1"]["meta"]["versionId"] == "3"


def test_a_second_conflict_fails_visibly_and_the_next_run_retries(engine: Engine, fake: FakeFhir) -> None:
    clinic, appointment_id = _synced(engine, fake)
    _confirm_by_text(engine, appointment_id)
    fake.conflicts_on_put = 2
    assert _write_back(engine, clinic) == {"done": 0, "failed": 1}
    [row] = _rows(engine)
    assert (row.status, row.attempts, row.last_error) == ("failed", 1, "update Appointment answered 412")
    assert fake.appointments["a1"]["participant"][0]["status"] == "needs-action"
    assert _write_back(engine, clinic) == {"done": 1, "failed": 0}
    [row] = _rows(engine)
    assert (row.status, row.attempts, row.last_error) == ("done", 2, None)


def test_a_cancel_request_by_text_creates_a_task_for_the_front_desk(engine: Engine, fake: FakeFhir) -> None:
    clinic, appointment_id = _synced(engine, fake)
    now = utcnow()
    with session_scope(engine) as session:
        patient_id = session.exec(select(Appointment.patient_id)).one()
        text_id = uuid.uuid4()
        session.execute(
            insert(OutboundMessage),
            [
                {
                    "id": text_id,
                    "clinic_id": clinic.id,
                    "patient_id": patient_id,
                    "appointment_id": appointment_id,
                    "kind": "campaign",
                    "send_at": now,
                    "status": "delivered",
                    "language": "vi",
                    "body": "Nhắc hẹn",
                    "segments": 1,
                    "encoding": "UCS-2",
                    "attempts": 1,
                    "created_at": now,
                    "updated_at": now,
                    "sent_at": now,
                }
            ],
        )
        session.execute(
            insert(InboundMessage),
            [
                {
                    "id": uuid.uuid4(),
                    "provider_sid": "SM" + uuid.uuid4().hex,
                    "clinic_id": clinic.id,
                    "patient_id": patient_id,
                    "from_phone": "+12025550161",
                    "to_phone": clinic.phone,
                    "body": "2",
                    "language": "vi",
                    "kind": "cancel_request",
                    "answer": 2,
                    "priority": "high",
                    "received_at": now,
                    "in_reply_to_id": text_id,
                }
            ],
        )
    assert _write_back(engine, clinic) == {"done": 1, "failed": 0}
    [task] = fake.tasks
    assert (task["status"], task["intent"], task["focus"], task["for"]) == (
        "requested",
        "order",
        {"reference": "Appointment/a1"},
        {"reference": "Patient/p1"},
    )
    [row] = _rows(engine)
    assert (row.kind, row.status, row.result_ref) == ("cancel_task", "done", "Task/task-1")
