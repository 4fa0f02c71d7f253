"""Which texts reach the coordinator queue, on which thread, at which priority."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from outreach.config import Settings
from outreach.db import session_scope, utcnow
from outreach.inbox.models import InboundKind, Priority, ThreadEvent, ThreadStatus
from outreach.patients.models import Appointment
from tests.factories import create_clinic, create_patient
from tests.inbox.support import CLINIC_PHONE, coordinator, inbound, sent_text, text_in, threads


def test_a_question_opens_a_thread_linked_to_the_text_it_answers(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    clinic = create_clinic(engine, phone=CLINIC_PHONE)
    patient = create_patient(engine, clinic, language="vi")
    sent_text(engine, patient, minutes_ago=90, body="older")
    latest = sent_text(engine, patient, minutes_ago=5, body="newer")
    text_in(client, settings, "Tôi có thể đến muộn 10 phút không?", sender=patient.phone)
    text_in(client, settings, "Cảm ơn", sender=patient.phone)
    [thread] = threads(engine)
    assert (thread.patient_id, thread.language, thread.status) == (patient.id, "vi", ThreadStatus.OPEN)
    assert thread.priority == Priority.NORMAL
    messages = inbound(engine)
    assert [m.thread_id for m in messages] == [thread.id, thread.id]
    assert {m.in_reply_to_id for m in messages} == {latest}


def test_keyword_replies_are_handled_without_a_person(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    clinic = create_clinic(engine, phone=CLINIC_PHONE)
    patient = create_patient(engine, clinic, language="es")
    for word in ("AYUDA", "1", "SI"):
        text_in(client, settings, word, sender=patient.phone)
    assert threads(engine) == []
    assert {m.thread_id for m in inbound(engine)} == {None}


def test_cancel_request_and_worse_checkin_are_queued_high(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    clinic = create_clinic(engine, phone=CLINIC_PHONE)
    booked = create_patient(engine, clinic, language="en")
    worse = create_patient(engine, clinic, language="ko")
    with session_scope(engine) as session:
        session.add(
            Appointment(clinic_id=clinic.id, patient_id=booked.id, starts_at=utcnow() + timedelta(days=3))
        )
    text_in(client, settings, "2", sender=booked.phone)
    text_in(client, settings, "3", sender=worse.phone)
    queued = {t.patient_id: (t.kind, t.priority) for t in threads(engine)}
    assert queued == {
        booked.id: (InboundKind.CANCEL_REQUEST, Priority.HIGH),
        worse.id: (InboundKind.CHECKIN_ANSWER, Priority.HIGH),
    }


def test_red_flag_raises_an_open_thread_and_a_later_question_does_not_lower_it(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    clinic = create_clinic(engine, phone=CLINIC_PHONE)
    patient = create_patient(engine, clinic, language="en")
    text_in(client, settings, "Is parking free?", sender=patient.phone)
    answer = text_in(client, settings, "also I have chest pain now", sender=patient.phone)
    assert "911" in answer.text
    text_in(client, settings, "ok", sender=patient.phone)
    [thread] = threads(engine)
    assert thread.priority == Priority.URGENT


def test_unknown_number_gets_an_unmatched_thread_and_red_flags_still_count(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    clinic = create_clinic(engine, phone=CLINIC_PHONE)
    with session_scope(engine) as session:
        clinic.emergency_number = "112"
        session.add(clinic)
    quiet = text_in(client, settings, "who is this?", sender="+12025550999")
    assert "<Message>" not in quiet.text
    urgent = text_in(client, settings, "me duele el pecho, dolor de pecho", sender="+12025550998")
    assert "112" in urgent.text
    found = {t.from_phone: (t.kind, t.priority, t.patient_id) for t in threads(engine)}
    assert found == {
        "+12025550999": (InboundKind.UNMATCHED, Priority.NORMAL, None),
        "+12025550998": (InboundKind.UNMATCHED, Priority.URGENT, None),
    }


def test_a_new_text_reopens_a_resolved_thread_as_a_new_episode(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    clinic = create_clinic(engine, phone=CLINIC_PHONE)
    patient = create_patient(engine, clinic, language="en")
    headers = coordinator(engine, clinic)
    text_in(client, settings, "Can I get a refill form?", sender=patient.phone)
    [thread] = threads(engine)
    client.post(
        f"/coordinator/threads/{thread.id}/replies", json={"body": "Yes, at the desk."}, headers=headers
    )
    done = client.post(
        f"/coordinator/threads/{thread.id}/resolve", json={"outcome": "answered"}, headers=headers
    )
    assert done.json()["status"] == "resolved"
    text_in(client, settings, "Thanks, one more question", sender=patient.phone)
    [again] = threads(engine)
    assert again.id == thread.id
    assert (again.status, again.outcome, again.first_response_at, again.claimed_by) == (
        ThreadStatus.OPEN,
        None,
        None,
        None,
    )
    assert again.opened_at > thread.opened_at
    with Session(engine) as session:
        kinds = [e.kind for e in session.exec(select(ThreadEvent).order_by(ThreadEvent.at))]  # type: ignore[arg-type]
    assert kinds == ["reply", "resolve", "reopen"]


def test_two_first_texts_at_once_share_one_thread(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    clinic = create_clinic(engine, phone=CLINIC_PHONE)
    patient = create_patient(engine, clinic, language="en")
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda i: text_in(client, settings, f"question {i}", sender=patient.phone), range(6)))
    [thread] = threads(engine)
    assert [m.thread_id for m in inbound(engine)] == [thread.id] * 6
