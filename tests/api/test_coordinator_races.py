"""Races a busy queue meets: two coordinators claiming at once, a STOP crossing a coordinator's reply."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from outreach.config import Settings
from outreach.db import session_scope, utcnow
from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.messaging.scheduler import claim_due
from outreach.patients.models import ConsentStatus, Patient
from tests.factories import create_clinic, create_patient
from tests.inbox.support import CLINIC_PHONE, coordinator, text_in, threads


def test_two_coordinators_claiming_at_once_get_one_winner_per_thread(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    clinic = create_clinic(engine, phone=CLINIC_PHONE)
    for i in range(8):
        text_in(client, settings, f"question {i}", sender=create_patient(engine, clinic).phone)
    rosa, sam = coordinator(engine, clinic), coordinator(engine, clinic)

    def race(thread_id: object) -> list[int]:
        start = threading.Barrier(2)

        def one(headers: dict[str, str]) -> int:
            start.wait()
            status: int = client.post(f"/coordinator/threads/{thread_id}/claim", headers=headers).status_code
            return status

        with ThreadPoolExecutor(max_workers=2) as pool:
            return sorted(pool.map(one, [rosa, sam]))

    results = [race(t.id) for t in threads(engine)]
    assert results == [[200, 409]] * 8
    holders = {t.claimed_by for t in threads(engine)}
    assert len(holders) in (1, 2)
    assert None not in holders


def test_stop_after_a_reply_was_queued_cancels_it_before_it_is_sent(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    clinic = create_clinic(engine, phone=CLINIC_PHONE)
    patient = create_patient(engine, clinic, language="en")
    text_in(client, settings, "When is my visit?", sender=patient.phone)
    [thread] = threads(engine)
    sent = client.post(
        f"/coordinator/threads/{thread.id}/replies",
        json={"body": "Tuesday"},
        headers=coordinator(engine, clinic),
    ).json()
    text_in(client, settings, "STOP", sender=patient.phone)
    with session_scope(engine) as session:
        assert claim_due(session=session, now=utcnow(), limit=100) == []
        reply = session.get(OutboundMessage, uuid.UUID(sent["message_id"]))
        assert reply is not None
        assert reply.status == MessageStatus.CANCELLED


def test_stop_racing_a_reply_never_leaves_a_sendable_text(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    clinic = create_clinic(engine, phone=CLINIC_PHONE)
    headers = coordinator(engine, clinic)
    people = [create_patient(engine, clinic, language="en") for _ in range(6)]
    for person in people:
        text_in(client, settings, "hello?", sender=person.phone)
    by_patient = {t.patient_id: t.id for t in threads(engine)}

    def race(person: Patient) -> None:
        start = threading.Barrier(2)

        def stop() -> None:
            start.wait()
            text_in(client, settings, "STOP", sender=person.phone)

        def answer() -> None:
            start.wait()
            url = f"/coordinator/threads/{by_patient[person.id]}/replies"
            assert client.post(url, json={"body": "hi"}, headers=headers).status_code in (201, 409)

        with ThreadPoolExecutor(max_workers=2) as pool:
            for future in [pool.submit(stop), pool.submit(answer)]:
                future.result()

    for person in people:
        race(person)
    with Session(engine) as session:
        assert {p.consent for p in session.exec(select(Patient))} == {ConsentStatus.REVOKED}
        statuses = {m.status for m in session.exec(select(OutboundMessage))}
    assert statuses <= {MessageStatus.CANCELLED}
