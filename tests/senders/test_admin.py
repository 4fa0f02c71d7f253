"""The senders admin API: what a clinic admin adds, sees, and cannot do."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from outreach.clinics.models import Clinic
from outreach.config import Settings
from outreach.db import session_scope, utcnow
from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.senders.models import Sender
from tests.factories import auth, create_clinic, create_key, create_patient
from tests.senders.support import SUB_ACCOUNT, SUB_TOKEN

SERVICE = "MG" + "a" * 32


def _admin(engine: Engine, **clinic: Any) -> tuple[dict[str, str], Clinic]:
    made = create_clinic(engine, **clinic)
    return auth(create_key(engine, made)), made


def test_a_sender_with_subaccount_credentials_never_shows_its_token(
    client: TestClient, engine: Engine
) -> None:
    headers, _ = _admin(engine)
    body = {
        "label": "Main line",
        "phone_number": "+12025550111",
        "sender_type": "toll_free",
        "rate_per_s": 3,
        "account_sid": SUB_ACCOUNT,
        "auth_token": SUB_TOKEN,
    }
    created = client.post("/admin/senders", json=body, headers=headers)
    assert created.status_code == 201, created.text
    shown = created.json()
    assert shown["has_credentials"] is True
    assert shown["is_default"] is True  # the clinic's first sender
    listed = client.get("/admin/senders", headers=headers)
    one = client.get(f"/admin/senders/{shown['id']}", headers=headers)
    for response in (created, listed, one):
        assert SUB_TOKEN not in response.text
    with Session(engine) as session:
        stored = session.get(Sender, uuid.UUID(shown["id"]))
        assert stored is not None
        assert stored.auth_token_encrypted
        assert SUB_TOKEN not in stored.auth_token_encrypted


def test_a_messaging_service_sender_defaults_to_its_types_rate(client: TestClient, engine: Engine) -> None:
    headers, _ = _admin(engine)
    body = {"messaging_service_sid": SERVICE, "sender_type": "short_code"}
    created = client.post("/admin/senders", json=body, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["rate_per_s"] == 100.0  # a short code's carrier default


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone_number": "202-555-0111"}, "phone_number"),
        ({"phone_number": "+12025550111", "sender_type": "short_code"}, "phone_number"),
        ({"phone_number": "+12025550111", "rate_per_s": 80}, "rate_per_s"),
        ({"phone_number": "+12025550111", "sender_type": "toll_free", "rate_per_s": 0.01}, "rate_per_s"),
        ({"messaging_service_sid": "MG123"}, "messaging_service_sid"),
        ({"messaging_service_sid": "AC" + "a" * 32}, "messaging_service_sid"),
        ({}, "phone_number"),
        ({"phone_number": "+12025550111", "auth_token": SUB_TOKEN}, "account_sid"),
        ({"phone_number": "+12025550111", "account_sid": SUB_ACCOUNT, "auth_token": "short"}, "auth_token"),
    ],
)
def test_bad_senders_are_422_naming_the_field_and_store_nothing(
    client: TestClient, engine: Engine, body: dict[str, object], field: str
) -> None:
    headers, _ = _admin(engine)
    answer = client.post("/admin/senders", json=body, headers=headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["field"] == field
    assert client.get("/admin/senders", headers=headers).json() == []


def test_one_number_belongs_to_one_clinic_and_others_cannot_see_it(
    client: TestClient, engine: Engine
) -> None:
    first, _ = _admin(engine, name="North", phone="+12025550100")
    second, _ = _admin(engine, name="South", phone="+12025550200")
    made = client.post("/admin/senders", json={"phone_number": "+12025550111"}, headers=first).json()
    again = client.post("/admin/senders", json={"phone_number": "+12025550111"}, headers=second)
    assert again.status_code == 409
    assert client.get(f"/admin/senders/{made['id']}", headers=second).status_code == 404
    assert client.delete(f"/admin/senders/{made['id']}", headers=second).status_code == 404


def test_deleting_a_sender_that_queued_texts_use_is_409_with_the_count(
    client: TestClient, engine: Engine
) -> None:
    headers, clinic = _admin(engine)
    made = client.post("/admin/senders", json={"phone_number": "+12025550111"}, headers=headers).json()
    patient = create_patient(engine, clinic)
    now = utcnow()
    with session_scope(engine) as session:
        for status in (MessageStatus.QUEUED, MessageStatus.SCHEDULED, MessageStatus.SENT):
            session.add(
                OutboundMessage(
                    clinic_id=patient.clinic_id,
                    patient_id=patient.id,
                    send_at=now + timedelta(hours=1),
                    status=status,
                    language="es",
                    body="Hola",
                    sender_id=uuid.UUID(made["id"]),
                )
            )
    refused = client.delete(f"/admin/senders/{made['id']}", headers=headers)
    assert refused.status_code == 409
    assert "2 texts" in refused.json()["detail"]  # queued and scheduled; the sent one no longer needs it
    assert len(client.get("/admin/senders", headers=headers).json()) == 1


def test_a_campaign_names_its_sender_and_an_unused_sender_can_go(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    headers, _ = _admin(engine)
    made = client.post("/admin/senders", json={"phone_number": "+12025550111"}, headers=headers).json()
    campaign = client.post(
        "/admin/campaigns",
        json={"name": "Visit reminders", "kind": "reminder", "steps": [{"offset_minutes": -1440}]},
        headers=headers,
    ).json()
    path = f"/admin/campaigns/{campaign['id']}/sender"
    named = client.put(path, json={"sender_id": made["id"]}, headers=headers)
    assert named.status_code == 200, named.text
    assert named.json()["sender_id"] == made["id"]
    assert client.delete(f"/admin/senders/{made['id']}", headers=headers).status_code == 204
    assert client.get("/admin/senders", headers=headers).json() == []
