"""The coordinator queue: order, filters, pagination, claim, reply, notes, resolve, audit."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach.config import Settings
from outreach.inbox.models import InboxAudit
from outreach.messaging.models import MessageStatus, OutboundMessage
from tests.factories import create_clinic, create_patient
from tests.inbox.support import CLINIC_PHONE, coordinator, text_in, threads


def _given_names_page_by_page(
    client: TestClient, headers: dict[str, str], params: dict[str, Any], *, pages: int
) -> list[str]:
    """The patients' given names down the queue, following the cursor for at most `pages` pages."""
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(pages):
        query = params | ({"cursor": cursor} if cursor else {})
        page = client.get("/coordinator/threads", params=query, headers=headers).json()
        seen += [item["patient_name"].split()[0] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    return seen


def test_queue_is_urgent_first_then_longest_waiting_and_pages_by_cursor(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    clinic = create_clinic(engine, phone=CLINIC_PHONE)
    people = [create_patient(engine, clinic, language="en", given_name=f"P{i}") for i in range(7)]
    for person in people[:5]:
        text_in(client, settings, "a question", sender=person.phone)
    text_in(client, settings, "I can't breathe", sender=people[5].phone)
    text_in(client, settings, "3", sender=people[6].phone)
    headers = coordinator(engine, clinic)
    seen = _given_names_page_by_page(client, headers, {"limit": 3}, pages=5)
    assert seen == ["P5", "P6", "P0", "P1", "P2", "P3", "P4"]


def test_filters_and_my_languages_with_the_interpreter_flag(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    clinic = create_clinic(engine, phone=CLINIC_PHONE)
    spanish = create_patient(engine, clinic, language="es-MX")
    somali = create_patient(engine, clinic, language="so")
    text_in(client, settings, "¿Puedo llevar a mi hija?", sender=spanish.phone)
    text_in(client, settings, "Su'aal baan qabaa", sender=somali.phone)
    headers = coordinator(engine, clinic)
    # No profile yet: the clinic's language (English) is the coordinator's, so both need an interpreter.
    before = client.get("/coordinator/threads", headers=headers).json()["items"]
    assert {t["language"]: t["interpreter_needed"] for t in before} == {"es": True, "so": True}
    me = client.put(
        "/coordinator/me", json={"display_name": "Rosa", "languages": ["es-US", "en"]}, headers=headers
    )
    assert me.json()["languages"] == ["es", "en"]
    everything = client.get("/coordinator/threads", headers=headers).json()["items"]
    flags = {t["language"]: t["interpreter_needed"] for t in everything}
    assert flags == {"es": False, "so": True}
    mine = client.get("/coordinator/threads", params={"mine": True}, headers=headers).json()["items"]
    assert [t["patient_id"] for t in mine] == [str(spanish.id)]
    by_language = client.get("/coordinator/threads", params={"language": "so"}, headers=headers).json()[
        "items"
    ]
    assert [t["patient_id"] for t in by_language] == [str(somali.id)]
    assert (
        client.get("/coordinator/threads", params={"priority": "urgent"}, headers=headers).json()["items"]
        == []
    )
    bad = client.put("/coordinator/me", json={"display_name": "Rosa", "languages": ["tlh"]}, headers=headers)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["field"] == "languages.0"


def test_my_languages_pages_through_every_language_i_read_in_queue_order(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    clinic = create_clinic(engine, phone=CLINIC_PHONE)
    languages = ["es", "en", "vi", "en", "es", "vi", "es", "en", "vi", "en"]
    people = [
        create_patient(engine, clinic, language=tag, given_name=f"P{i}") for i, tag in enumerate(languages)
    ]
    for person in people:  # each waits longer than the next
        text_in(client, settings, "a question", sender=person.phone)
    text_in(client, settings, "I can't breathe", sender=people[7].phone)  # urgent: first of all
    headers = coordinator(engine, clinic)
    client.put("/coordinator/me", json={"display_name": "Rosa", "languages": ["en", "es"]}, headers=headers)
    seen = _given_names_page_by_page(client, headers, {"mine": True, "limit": 2}, pages=6)
    assert seen == ["P7", "P0", "P1", "P3", "P4", "P6", "P9"]


def test_claim_is_exclusive_and_names_the_holder(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    clinic = create_clinic(engine, phone=CLINIC_PHONE)
    patient = create_patient(engine, clinic, language="en")
    text_in(client, settings, "Question about my bill", sender=patient.phone)
    [thread] = threads(engine)
    rosa, sam = coordinator(engine, clinic), coordinator(engine, clinic)
    client.put("/coordinator/me", json={"display_name": "Rosa Diaz", "languages": ["en"]}, headers=rosa)
    url = f"/coordinator/threads/{thread.id}"
    assert client.post(f"{url}/claim", headers=rosa).json()["claimed_by"]["name"] == "Rosa Diaz"
    refused = client.post(f"{url}/claim", headers=sam)
    assert refused.status_code == 409
    assert "Rosa Diaz" in refused.json()["detail"]
    assert client.post(f"{url}/replies", json={"body": "hi"}, headers=sam).status_code == 409
    assert client.post(f"{url}/release", headers=sam).status_code == 409
    assert client.post(f"{url}/release", headers=rosa).json()["status"] == "open"
    assert client.post(f"{url}/claim", headers=sam).status_code == 200


def test_reply_is_scheduled_for_delivery_and_times_the_first_response(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    clinic = create_clinic(engine, phone=CLINIC_PHONE)
    patient = create_patient(engine, clinic, language="es", given_name="Ana")
    text_in(client, settings, "¿A qué hora abren?", sender=patient.phone)
    [thread] = threads(engine)
    headers = coordinator(engine, clinic)
    url = f"/coordinator/threads/{thread.id}"
    assert client.post(f"{url}/replies", json={"body": "   "}, headers=headers).status_code == 422
    free = client.post(f"{url}/replies", json={"body": "Abrimos a las 8."}, headers=headers)
    assert free.status_code == 201
    canned = client.post(f"{url}/replies", json={"template": "missed_appointment"}, headers=headers)
    assert canned.status_code == 422, "the template needs a visit date this patient does not have"
    checkin = client.post(f"{url}/replies", json={"template": "checkin_post_visit"}, headers=headers).json()
    assert checkin["language"] == "es"
    assert "Hola, Ana. ¿Cómo se siente" in checkin["body"]
    with Session(engine) as session:
        outbox = session.exec(select(OutboundMessage).order_by(col(OutboundMessage.created_at))).all()
    assert [(m.kind, m.status, m.body) for m in outbox] == [
        ("reply", MessageStatus.SCHEDULED, "Abrimos a las 8."),
        ("reply", MessageStatus.SCHEDULED, checkin["body"]),
    ]
    shown = client.get(url, headers=headers).json()
    assert shown["status"] == "claimed"
    assert shown["first_response_seconds"] is not None
    assert shown["first_response_seconds"] >= 0
    assert shown["awaiting_reply"] is False
    assert [e["kind"] for e in shown["entries"]] == ["inbound", "reply", "reply"]
    assert shown["entries"][1]["delivery_status"] == "scheduled"


def test_reply_is_refused_after_the_patient_opted_out(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    clinic = create_clinic(engine, phone=CLINIC_PHONE)
    patient = create_patient(engine, clinic, language="en")
    text_in(client, settings, "Is my visit still on?", sender=patient.phone)
    text_in(client, settings, "STOP", sender=patient.phone)
    [thread] = threads(engine)
    refused = client.post(
        f"/coordinator/threads/{thread.id}/replies",
        json={"body": "Yes it is"},
        headers=coordinator(engine, clinic),
    )
    assert refused.status_code == 409
    assert "consent" in refused.json()["detail"]
    with Session(engine) as session:
        assert session.exec(select(OutboundMessage)).all() == []


def test_notes_resolve_and_audit(client: TestClient, settings: Settings, engine: Engine) -> None:
    clinic = create_clinic(engine, phone=CLINIC_PHONE)
    patient = create_patient(engine, clinic, language="en")
    text_in(client, settings, "Please call me", sender=patient.phone)
    [thread] = threads(engine)
    headers = coordinator(engine, clinic)
    url = f"/coordinator/threads/{thread.id}"
    assert client.post(f"{url}/notes", json={"body": ""}, headers=headers).status_code == 422
    assert client.post(f"{url}/notes", json={"body": "Left a voicemail"}, headers=headers).status_code == 201
    client.get(url, headers=headers)
    closed = client.post(f"{url}/resolve", json={"outcome": "called_patient"}, headers=headers).json()
    assert (closed["status"], closed["outcome"]) == ("resolved", "called_patient")
    assert closed["resolution_seconds"] >= 0
    assert client.post(f"{url}/claim", headers=headers).status_code == 409
    assert client.post(f"{url}/resolve", json={"outcome": "answered"}, headers=headers).status_code == 409
    entries = client.get(url, headers=headers).json()["entries"]
    assert [(e["kind"], e["body"]) for e in entries] == [
        ("inbound", "Please call me"),
        ("note", "Left a voicemail"),
        ("resolve", None),
    ]
    resolved = client.get("/coordinator/threads", params={"status": "resolved"}, headers=headers).json()[
        "items"
    ]
    assert [t["id"] for t in resolved] == [str(thread.id)]
    assert client.get("/coordinator/threads", headers=headers).json()["items"] == []
    with Session(engine) as session:
        actions = [a.action for a in session.exec(select(InboxAudit).order_by(col(InboxAudit.at)))]
    assert actions == ["note", "view", "resolve", "view"]
