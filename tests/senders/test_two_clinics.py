"""Two clinics on two numbers, texts interleaved: each reply lands in its own clinic, never a guess."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from twilio.request_validator import RequestValidator

from outreach.clinics.models import Clinic
from outreach.config import Settings
from outreach.db import session_scope, utcnow
from outreach.inbox.models import InboundKind, InboundMessage
from outreach.main import create_app
from outreach.messaging import service as messaging
from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.patients.models import ConsentStatus, Patient
from outreach.senders.models import Sender
from tests.factories import create_clinic, create_patient
from tests.inbox.support import coordinator, inbound, threads
from tests.senders.support import SUB_ACCOUNT, SUB_TOKEN, create_sender, text_to

NORTH_NUMBER, SOUTH_NUMBER = "+12025550111", "+12025550122"
SHARED_PHONE = "+12025550177"  # one person who is a patient of both clinics
EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _two_clinics(engine: Engine, settings: Settings, organisation: str = "") -> tuple[Clinic, Clinic]:
    north = create_clinic(engine, name="North", phone="+12025550100")
    south = create_clinic(engine, name="South", phone="+12025550200")
    with session_scope(engine) as session:
        for clinic in (north, south):
            clinic.organisation = organisation
            session.add(clinic)
    create_sender(engine, settings, north, phone_number=NORTH_NUMBER)
    create_sender(
        engine, settings, south, phone_number=SOUTH_NUMBER, account_sid=SUB_ACCOUNT, auth_token=SUB_TOKEN
    )
    return north, south


def _south(client: TestClient, settings: Settings, body: str, sender: str) -> str:
    answer = text_to(
        client, settings, body, sender=sender, to=SOUTH_NUMBER, token=SUB_TOKEN, account=SUB_ACCOUNT
    )
    assert answer.status_code == 200, answer.text
    return answer.text


def _north(client: TestClient, settings: Settings, body: str, sender: str) -> str:
    answer = text_to(client, settings, body, sender=sender, to=NORTH_NUMBER)
    assert answer.status_code == 200, answer.text
    return answer.text


def _scheduled(engine: Engine, patient: Patient) -> OutboundMessage:
    with session_scope(engine) as session:
        return messaging.create_one_off(
            session=session,
            clinic_id=patient.clinic_id,
            patient_id=patient.id,
            body="See you Tuesday",
            send_at=None,
            language=None,
            now=utcnow(),
        )


def _consent(engine: Engine, patient: Patient) -> ConsentStatus:
    with Session(engine) as session:
        found = session.get(Patient, patient.id)
        assert found is not None
        return ConsentStatus(found.consent)


def _status(engine: Engine, message: OutboundMessage) -> MessageStatus:
    with Session(engine) as session:
        found = session.get(OutboundMessage, message.id)
        assert found is not None
        return MessageStatus(found.status)


def test_interleaved_replies_land_in_their_own_clinics_queue(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    north, south = _two_clinics(engine, settings)
    in_north = create_patient(engine, north, phone=SHARED_PHONE, language="en")
    in_south = create_patient(engine, south, phone=SHARED_PHONE, language="es")
    other_south = create_patient(engine, south, phone="+12025550178", language="es")  # never the shared one
    _north(client, settings, "Can I come in later?", SHARED_PHONE)
    _south(client, settings, "¿Puedo llegar más tarde?", SHARED_PHONE)
    _north(client, settings, "Also, where do I park?", SHARED_PHONE)
    _south(client, settings, "¿Dónde está la clínica?", other_south.phone)
    by_clinic = {(t.clinic_id, t.patient_id) for t in threads(engine)}
    assert by_clinic == {(north.id, in_north.id), (south.id, in_south.id), (south.id, other_south.id)}
    north_queue = client.get("/coordinator/threads", headers=coordinator(engine, north)).json()["items"]
    south_queue = client.get("/coordinator/threads", headers=coordinator(engine, south)).json()["items"]
    assert len(north_queue) == 1
    assert len(south_queue) == 2
    assert {m.clinic_id for m in inbound(engine)} == {north.id, south.id}


def test_stop_to_one_clinic_stops_only_that_clinics_texts(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    north, south = _two_clinics(engine, settings)
    in_north = create_patient(engine, north, phone=SHARED_PHONE)
    in_south = create_patient(engine, south, phone=SHARED_PHONE)
    north_text, south_text = _scheduled(engine, in_north), _scheduled(engine, in_south)
    _north(client, settings, "STOP", SHARED_PHONE)
    assert (_consent(engine, in_north), _consent(engine, in_south)) == (
        ConsentStatus.REVOKED,
        ConsentStatus.GRANTED,
    )
    assert (_status(engine, north_text), _status(engine, south_text)) == (
        MessageStatus.CANCELLED,
        MessageStatus.SCHEDULED,
    )


def test_with_organisation_scope_a_stop_reaches_every_clinic_of_the_organisation(
    settings: Settings, engine: Engine
) -> None:
    wide = settings.model_copy(update={"stop_scope": "organisation"})
    north, south = _two_clinics(engine, settings, organisation="Riverside Health")
    elsewhere = create_clinic(engine, name="Elsewhere", phone="+12025550300")  # not of the organisation
    in_north = create_patient(engine, north, phone=SHARED_PHONE)
    in_south = create_patient(engine, south, phone=SHARED_PHONE)
    in_elsewhere = create_patient(engine, elsewhere, phone=SHARED_PHONE)
    south_text = _scheduled(engine, in_south)
    with TestClient(create_app(wide)) as client:
        _north(client, wide, "STOP", SHARED_PHONE)
    assert [_consent(engine, p) for p in (in_north, in_south, in_elsewhere)] == [
        ConsentStatus.REVOKED,
        ConsentStatus.REVOKED,
        ConsentStatus.GRANTED,
    ]
    assert _status(engine, south_text) == MessageStatus.CANCELLED


def test_a_number_no_clinic_owns_is_stored_unmatched_and_answered_with_nothing(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    north, _ = _two_clinics(engine, settings)
    create_patient(engine, north, phone=SHARED_PHONE)
    answer = text_to(client, settings, "HELP", sender=SHARED_PHONE, to="+12025550999")
    assert answer.status_code == 200
    assert answer.text == EMPTY
    [stored] = inbound(engine)
    assert (stored.clinic_id, stored.kind) == (None, InboundKind.UNMATCHED)
    assert threads(engine) == []


def test_a_subaccount_number_signed_by_the_main_account_finds_no_clinic(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    _, south = _two_clinics(engine, settings)
    create_patient(engine, south, phone=SHARED_PHONE)
    answer = text_to(client, settings, "HELP", sender=SHARED_PHONE, to=SOUTH_NUMBER)  # the deployment's token
    assert answer.text == EMPTY
    with Session(engine) as session:
        stored = session.exec(
            select(InboundMessage).where(col(InboundMessage.to_phone) == SOUTH_NUMBER)
        ).one()
    assert stored.clinic_id is None


def test_signatures_are_checked_with_the_signing_accounts_own_token(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    _, south = _two_clinics(engine, settings)
    create_patient(engine, south, phone=SHARED_PHONE)
    wrong_token = text_to(client, settings, "Hola", sender=SHARED_PHONE, to=SOUTH_NUMBER, account=SUB_ACCOUNT)
    unknown = text_to(
        client,
        settings,
        "Hola",
        sender=SHARED_PHONE,
        to=SOUTH_NUMBER,
        token=SUB_TOKEN,
        account="AC" + "c" * 32,
    )
    assert (wrong_token.status_code, unknown.status_code) == (403, 403)  # another account: its own token
    assert inbound(engine) == []
    assert "<Message>" in _south(client, settings, "AYUDA", SHARED_PHONE)  # the right token: answered
    assert [m.clinic_id for m in inbound(engine)] == [south.id]
    # An AccountSid no clinic configured is the deployment's own: its token, and no subaccount's number.
    other = "AC" + "c" * 32
    foreign = text_to(client, settings, "AYUDA", sender=SHARED_PHONE, to=SOUTH_NUMBER, account=other)
    assert (foreign.status_code, foreign.text) == (200, EMPTY)
    assert [m.clinic_id for m in inbound(engine)] == [south.id, None]


def _callback(
    client: TestClient, settings: Settings, message: OutboundMessage, *, token: str | None, account: str
) -> int:
    path = f"/webhooks/twilio/status?message_id={message.id}"
    form = {"MessageSid": f"SM{message.id.hex}", "MessageStatus": "delivered", "AccountSid": account}
    secret = token or settings.simulator_auth_token
    signature = RequestValidator(secret).compute_signature(settings.public_base_url + path, form)
    answer = client.post(path, data=form, headers={"X-Twilio-Signature": signature})
    return int(answer.status_code)


def test_a_subaccount_reports_on_its_own_texts_only(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    north, south = _two_clinics(engine, settings)
    texts = []
    for clinic in (north, south):
        sent = _scheduled(engine, create_patient(engine, clinic))
        with session_scope(engine) as session:
            row = session.get(OutboundMessage, sent.id)
            assert row is not None
            row.status, row.provider_sid = MessageStatus.SENT, f"SM{sent.id.hex}"
            row.sender_id = session.exec(select(Sender.id).where(Sender.clinic_id == clinic.id)).one()
            session.add(row)
        texts.append(sent)
    north_text, south_text = texts
    assert _callback(client, settings, north_text, token=SUB_TOKEN, account=SUB_ACCOUNT) == 403
    assert _status(engine, north_text) == MessageStatus.SENT
    assert _callback(client, settings, south_text, token=SUB_TOKEN, account=SUB_ACCOUNT) == 204
    assert _status(engine, south_text) == MessageStatus.DELIVERED
    assert _callback(client, settings, north_text, token=None, account="") == 204
    assert _status(engine, north_text) == MessageStatus.DELIVERED
