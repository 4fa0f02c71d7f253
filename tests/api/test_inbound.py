"""The inbound webhook: signed, stored once, keywords acted on at once, answered in the patient's language."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from outreach.config import Settings, webhook_token
from outreach.db import session_scope, utcnow
from outreach.inbox.models import InboundKind, InboundMessage, Priority, Thread
from outreach.messaging import service as messaging
from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.patients.models import Appointment, AppointmentStatus, ConsentEvent, ConsentStatus, Patient
from outreach.sms.twilio import sign_request
from tests.factories import create_clinic, create_patient

CLINIC_PHONE = "+12025550100"
PATH = "/webhooks/twilio/sms"


def _post(
    client: TestClient,
    settings: Settings,
    body: str,
    *,
    sender: str,
    sid: str | None = None,
    signature: str | None = None,
    extra: dict[str, str] | None = None,
) -> Any:
    form = {"MessageSid": sid or f"SM{uuid.uuid4().hex}", "From": sender, "To": CLINIC_PHONE, "Body": body}
    form.update(extra or {})
    url = settings.public_base_url + PATH
    good = sign_request(auth_token=webhook_token(settings), url=url, params=form)
    return client.post(
        PATH, data=form, headers={"X-Twilio-Signature": signature if signature is not None else good}
    )


def _patient(engine: Engine, language: str, phone: str = "+12025550177") -> Patient:
    return create_patient(engine, create_clinic(engine, phone=CLINIC_PHONE), language=language, phone=phone)


def _stored(engine: Engine) -> list[InboundMessage]:
    with Session(engine) as session:
        return list(session.exec(select(InboundMessage)))


def test_bad_missing_or_tampered_signature_is_403_and_nothing_stored(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    patient = _patient(engine, "es")
    assert _post(client, settings, "ALTO", sender=patient.phone, signature="").status_code == 403
    assert (
        _post(client, settings, "ALTO", sender=patient.phone, signature="bm90IGEgc2lnbmF0dXJl").status_code
        == 403
    )
    form = {"MessageSid": "SM" + "1" * 32, "From": patient.phone, "To": CLINIC_PHONE, "Body": "hola"}
    signature = sign_request(
        auth_token=webhook_token(settings), url=settings.public_base_url + PATH, params=form
    )
    tampered = client.post(PATH, data={**form, "Body": "ALTO"}, headers={"X-Twilio-Signature": signature})
    assert tampered.status_code == 403
    behind_proxy = client.post(
        PATH, data=form, headers={"X-Twilio-Signature": signature, "X-Forwarded-Host": "evil.example"}
    )
    assert behind_proxy.status_code == 200, "X-Forwarded-* must not change the URL the signature covers"
    assert [m.body for m in _stored(engine)] == ["hola"]


@pytest.mark.parametrize(
    ("language", "word", "expected_reply"),
    [
        ("es", "ALTO", "Ya no recibirá"),
        ("vi", "Dừng", "không nhận thêm"),
        ("zh-Hans", "停止", "不会再收到"),
        ("en", "please stop texting me", "will not get any more texts"),
        ("es", "No más mensajes, gracias", "Ya no"),
    ],
)
def test_stop_in_the_patients_language_opts_out_now_and_confirms_once(
    client: TestClient, settings: Settings, engine: Engine, language: str, word: str, expected_reply: str
) -> None:
    patient = _patient(engine, language)
    with session_scope(engine) as session:
        later = messaging.create_one_off(
            session=session,
            clinic_id=patient.clinic_id,
            patient_id=patient.id,
            body="Reminder",
            send_at=utcnow() + timedelta(days=1),
            language=None,
            now=utcnow(),
        ).id
    response = _post(client, settings, word, sender=patient.phone, sid="SM" + "a" * 32)
    assert response.status_code == 200
    assert response.text.count("<Message>") == 1
    assert expected_reply in response.text
    with Session(engine) as session:
        refreshed = session.get(Patient, patient.id)
        assert refreshed is not None
        assert refreshed.consent == ConsentStatus.REVOKED
        ledger = session.exec(select(ConsentEvent).where(ConsentEvent.patient_id == patient.id)).all()
        assert [e.status for e in ledger] == [ConsentStatus.GRANTED, ConsentStatus.REVOKED]
        cancelled = session.get(OutboundMessage, later)
        assert cancelled is not None
        assert cancelled.status == MessageStatus.CANCELLED
    replay = _post(client, settings, word, sender=patient.phone, sid="SM" + "a" * 32)
    assert replay.status_code == 200
    assert "<Message>" not in replay.text, "a replayed webhook must have no second effect"
    assert len(_stored(engine)) == 1


def test_start_restores_consent_and_help_answers_without_changing_it(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    patient = _patient(engine, "es")
    _post(client, settings, "ALTO", sender=patient.phone)
    helped = _post(client, settings, "AYUDA", sender=patient.phone)
    assert "Pueden aplicarse tarifas" in helped.text
    assert "+12025550100" in helped.text
    with Session(engine) as session:
        still = session.get(Patient, patient.id)
        assert still is not None
        assert still.consent == ConsentStatus.REVOKED
    started = _post(client, settings, "START", sender=patient.phone)
    assert "Volverá a recibir" in started.text
    with Session(engine) as session:
        back = session.get(Patient, patient.id)
        assert back is not None
        assert back.consent == ConsentStatus.GRANTED


def test_urgent_phrase_is_flagged_and_answered_with_the_emergency_number(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    patient = _patient(engine, "es")
    response = _post(client, settings, "tengo dolor de pecho desde anoche", sender=patient.phone)
    assert "911" in response.text
    [stored] = _stored(engine)
    assert (stored.kind, stored.priority) == (InboundKind.URGENT, Priority.URGENT)


def test_a_replayed_urgent_text_is_stored_once_and_answered_once(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    patient = _patient(engine, "en")
    sid = "SM" + "b" * 32
    first = _post(client, settings, "I can't breathe", sender=patient.phone, sid=sid)
    replay = _post(client, settings, "I can't breathe", sender=patient.phone, sid=sid)
    assert "911" in first.text
    assert (replay.status_code, "<Message>" in replay.text) == (200, False)
    [stored] = _stored(engine)
    assert stored.provider_sid == sid
    with Session(engine) as session:
        [thread] = session.exec(select(Thread)).all()
    assert (thread.priority, thread.last_message_at) == (Priority.URGENT, stored.received_at)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_text_after_the_database_closed_the_webhooks_connections_is_still_stored(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    patient = _patient(engine, "en")
    _post(client, settings, "Is parking free?", sender=patient.phone)
    # What a database restart does to every open connection.
    with psycopg.connect(engine.url.set(drivername="postgresql").render_as_string(False)) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    answer = _post(client, settings, "I have chest pain", sender=patient.phone)
    assert (answer.status_code, "911" in answer.text) == (200, True)
    assert sorted(m.body for m in _stored(engine)) == ["I have chest pain", "Is parking free?"]


def test_reply_1_confirms_the_next_appointment_in_the_patients_language(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    patient = _patient(engine, "es")
    with session_scope(engine) as session:
        visit = Appointment(
            clinic_id=patient.clinic_id,
            patient_id=patient.id,
            starts_at=utcnow() + timedelta(days=2),
            location="Main St",
        )
        session.add(visit)
        session.flush()
        visit_id = visit.id
    response = _post(client, settings, "1", sender=patient.phone)
    assert "está confirmada" in response.text
    with Session(engine) as session:
        confirmed = session.get(Appointment, visit_id)
        assert confirmed is not None
        assert confirmed.status == AppointmentStatus.CONFIRMED


def test_checkin_answer_3_is_high_priority_and_2_without_a_visit_is_an_answer(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    patient = _patient(engine, "vi")
    worse = _post(client, settings, "3", sender=patient.phone)
    assert "911" in worse.text
    _post(client, settings, "2", sender=patient.phone)
    kinds = sorted((m.answer, m.kind, m.priority) for m in _stored(engine))
    assert kinds == [
        (2, InboundKind.CHECKIN_ANSWER, Priority.NORMAL),
        (3, InboundKind.CHECKIN_ANSWER, Priority.HIGH),
    ]


def test_unknown_number_is_stored_as_unmatched_without_a_reply(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    _patient(engine, "en")
    response = _post(client, settings, "who is this?", sender="+12025550199")
    assert "<Message>" not in response.text
    [stored] = _stored(engine)
    assert (stored.kind, stored.patient_id) == (InboundKind.UNMATCHED, None)


def test_ordinary_message_is_stored_for_the_care_team(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    patient = _patient(engine, "en")
    response = _post(client, settings, "Can I bring my daughter to the visit?", sender=patient.phone)
    assert response.status_code == 200
    [stored] = _stored(engine)
    assert (stored.kind, stored.language, stored.patient_id) == (InboundKind.MESSAGE, "en", patient.id)


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ({"MessageSid": ""}, "MessageSid is missing"),
        ({"Body": "x" * 1601}, "Body is longer than 1600"),
        ({"From": "+1" * 20}, "From is longer than 32"),
        ({"Body": "nul \x00 byte"}, "Body contains a NUL character"),
    ],
)
def test_missing_or_oversized_fields_are_400_and_nothing_stored(
    client: TestClient, settings: Settings, engine: Engine, form: dict[str, str], reason: str
) -> None:
    patient = _patient(engine, "en")
    response = _post(client, settings, "hello", sender=patient.phone, extra=form)
    assert response.status_code == 400
    assert reason in response.json()["detail"]
    assert _stored(engine) == []
