"""The simulator: a demo patient's reply goes through the real signed webhook and its answer comes back;
it needs a key of the clinic it acts for, sees only that clinic's phones, and is off in production."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from outreach.clinics.models import Role
from outreach.config import Settings
from outreach.main import create_app
from outreach.patients.models import ConsentStatus, Patient
from tests.factories import auth, create_clinic, create_key, create_patient
from tests.servers import free_port, serving
from tests.web.conftest import sign_in, web_app


def test_spanish_phone_replies_alto_and_is_opted_out(settings: Settings, engine: Engine) -> None:
    port = free_port()
    served = settings.model_copy(update={"public_base_url": f"http://127.0.0.1:{port}"})
    app = create_app(served)
    clinic = create_clinic(engine)
    key = auth(create_key(engine, clinic, Role.COORDINATOR))
    patient = create_patient(engine, clinic, language="es-MX", phone="+12025550131")
    with serving(app, port), TestClient(app) as client:
        answer = client.post(f"/simulator/phones/{patient.phone}/reply", json={"body": "ALTO"}, headers=key)
        assert answer.status_code == 200
        assert "Ya no recibirá" in (answer.json()["answer"] or "")
        phone = client.get("/simulator/phones", headers=key).json()[patient.phone]
    assert [(t["direction"], t["body"][:14]) for t in phone] == [("out", "ALTO"), ("in", "Test Clinic: Y")]
    with Session(engine) as session:
        stored = session.get(Patient, patient.id)
        assert stored is not None
        assert stored.consent == ConsentStatus.REVOKED


def test_without_a_key_the_simulator_is_401(client: TestClient, engine: Engine) -> None:
    patient = create_patient(engine, create_clinic(engine), phone="+12025550132")
    assert client.get("/simulator/phones").status_code == 401
    refused = client.post(f"/simulator/phones/{patient.phone}/reply", json={"body": "STOP"})
    assert refused.status_code == 401
    assert client.get("/simulator/phones", headers=auth("ok_abc_wrong")).status_code == 401


def test_another_clinics_phone_is_not_found_and_not_listed(settings: Settings, engine: Engine) -> None:
    port = free_port()
    app = create_app(settings.model_copy(update={"public_base_url": f"http://127.0.0.1:{port}"}))
    ours, theirs = create_clinic(engine), create_clinic(engine, name="Other", phone="+12025550199")
    key = auth(create_key(engine, ours))
    their_patient = create_patient(engine, theirs, phone="+12025550133")
    with serving(app, port), TestClient(app) as client:
        their_key = auth(create_key(engine, theirs))
        sent = client.post(
            f"/simulator/phones/{their_patient.phone}/reply", json={"body": "hi"}, headers=their_key
        )
        assert sent.status_code == 200
        assert their_patient.phone in client.get("/simulator/phones", headers=their_key).json()
        injected = client.post(
            f"/simulator/phones/{their_patient.phone}/reply", json={"body": "STOP"}, headers=key
        )
        assert injected.status_code == 404
        assert client.get("/simulator/phones", headers=key).json() == {}
    with Session(engine) as session:
        stored = session.get(Patient, their_patient.id)
        assert stored is not None
        assert stored.consent == ConsentStatus.GRANTED


def test_simulator_is_off_with_twilio(settings: Settings, engine: Engine) -> None:
    twilio = settings.model_copy(update={"gateway": "twilio"})
    key = auth(create_key(engine, create_clinic(engine)))
    with TestClient(create_app(twilio)) as client:
        assert client.get("/simulator/phones", headers=key).status_code == 404
        reply = client.post("/simulator/phones/+12025550131/reply", json={"body": "hi"}, headers=key)
        assert reply.status_code == 404


def test_simulator_is_off_in_production_even_with_a_key(settings: Settings, engine: Engine) -> None:
    # Settings refuse production with the simulator gateway; a copy skips that check to prove the route's own.
    production = settings.model_copy(update={"env": "production"})
    key = auth(create_key(engine, create_clinic(engine)))
    with TestClient(create_app(production)) as client:
        assert client.get("/simulator/phones", headers=key).status_code == 404


def test_unknown_simulated_phone_is_404(client: TestClient, engine: Engine) -> None:
    key = auth(create_key(engine, create_clinic(engine)))
    response = client.post("/simulator/phones/+12025550999/reply", json={"body": "hi"}, headers=key)
    assert response.status_code == 404


def test_a_signed_in_web_session_drives_its_own_clinics_simulator(settings: Settings, engine: Engine) -> None:
    clinic = create_clinic(engine)
    theirs = create_patient(engine, create_clinic(engine, name="Other"), phone="+12025550135")
    with TestClient(web_app(settings)) as browser:
        assert browser.get("/simulator/phones").status_code == 401
        assert sign_in(browser, create_key(engine, clinic, Role.COORDINATOR)).status_code == 303
        assert browser.get("/simulator/phones").status_code == 200
        refused = browser.post(f"/simulator/phones/{theirs.phone}/reply", json={"body": "STOP"})
        assert refused.status_code == 404
