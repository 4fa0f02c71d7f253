"""The simulator page over plain HTTP: replies go through the real signed webhook; off with Twilio."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from outreach.clinics.models import Role
from outreach.config import Settings
from outreach.inbox.models import InboundKind, InboundMessage
from outreach.patients.models import ConsentStatus, Patient
from tests.factories import create_clinic, create_key, create_patient
from tests.web.conftest import csrf_of, sign_in, web_app


def _twilio(settings: Settings) -> Settings:
    return settings.model_copy(update={"gateway": "twilio"})


def test_simulator_is_404_with_the_twilio_gateway(settings: Settings, engine: Engine) -> None:
    clinic = create_clinic(engine)
    patient = create_patient(engine, clinic)
    with TestClient(web_app(_twilio(settings))) as client:
        sign_in(client, create_key(engine, clinic, Role.COORDINATOR))
        page = client.get("/app/simulator")
        assert page.status_code == 404
        assert "simulator is off" in page.text
        csrf = csrf_of(page)
        reply = client.post(f"/app/simulator/{patient.id}/reply", data={"csrf_token": csrf, "body": "hi"})
        assert reply.status_code == 404
        assert client.get("/app/simulator/texts").status_code == 404
        assert "Phone simulator" not in client.get("/app/").text
    with Session(engine) as session:
        assert session.exec(select(InboundMessage)).first() is None


def test_spanish_phone_replies_alto_and_is_opted_out(
    served: str, served_settings: Settings, engine: Engine
) -> None:
    clinic = create_clinic(engine, phone="+12025550100")
    patient = create_patient(engine, clinic, given_name="Maria", language="es-MX")
    with TestClient(web_app(served_settings)) as client:
        sign_in(client, create_key(engine, clinic, Role.COORDINATOR))
        page = client.get("/app/simulator")
        answer = client.post(
            f"/app/simulator/{patient.id}/reply", data={"csrf_token": csrf_of(page), "body": "ALTO"}
        )
        assert answer.status_code == 200  # followed the redirect back to the phones
        assert "Ya no recibirá" in answer.text
    with Session(engine) as session:
        stored = session.exec(select(InboundMessage)).one()
        assert (stored.kind, stored.from_phone, stored.to_phone) == (
            InboundKind.OPTOUT,
            patient.phone,
            clinic.phone,
        )
        again = session.get(Patient, patient.id)
        assert again is not None
        assert again.consent == ConsentStatus.REVOKED


def test_empty_reply_is_explained_beside_the_box(web_client: TestClient, engine: Engine) -> None:
    clinic = create_clinic(engine)
    patient = create_patient(engine, clinic)
    sign_in(web_client, create_key(engine, clinic, Role.COORDINATOR))
    csrf = csrf_of(web_client.get("/app/simulator"))
    answer = web_client.post(f"/app/simulator/{patient.id}/reply", data={"csrf_token": csrf, "body": "  "})
    assert answer.status_code == 422
    assert f'id="reply-error-{patient.id}"' in answer.text
    assert "Type a reply first." in answer.text


def test_another_clinics_phone_cannot_be_used(web_client: TestClient, engine: Engine) -> None:
    mine, theirs = create_clinic(engine), create_clinic(engine, name="Other", phone="+12025550199")
    stranger = create_patient(engine, theirs, given_name="Zed")
    sign_in(web_client, create_key(engine, mine, Role.COORDINATOR))
    page = web_client.get("/app/simulator")
    assert "Zed" not in page.text
    answer = web_client.post(
        f"/app/simulator/{stranger.id}/reply", data={"csrf_token": csrf_of(page), "body": "hi"}
    )
    assert answer.status_code == 404
    missing = web_client.post(
        f"/app/simulator/{uuid.uuid4()}/reply", data={"csrf_token": csrf_of(page), "body": "x"}
    )
    assert missing.status_code == 404


def test_reply_without_csrf_is_not_sent(web_client: TestClient, engine: Engine) -> None:
    clinic = create_clinic(engine)
    patient = create_patient(engine, clinic)
    sign_in(web_client, create_key(engine, clinic, Role.COORDINATOR))
    answer = web_client.post(f"/app/simulator/{patient.id}/reply", data={"body": "STOP"})
    assert answer.status_code == 403
    with Session(engine) as session:
        assert session.exec(select(InboundMessage)).first() is None
