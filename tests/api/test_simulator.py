"""The simulator: a demo patient's reply goes through the real signed webhook and its answer comes back."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from outreach.config import Settings
from outreach.main import create_app
from outreach.patients.models import ConsentStatus, Patient
from tests.factories import create_clinic, create_patient
from tests.servers import free_port, serving


def test_spanish_phone_replies_alto_and_is_opted_out(settings: Settings, engine: Engine) -> None:
    port = free_port()
    served = settings.model_copy(update={"public_base_url": f"http://127.0.0.1:{port}"})
    app = create_app(served)
    patient = create_patient(engine, create_clinic(engine), language="es-MX", phone="+12025550131")
    with serving(app, port), TestClient(app) as client:
        answer = client.post(f"/simulator/phones/{patient.phone}/reply", json={"body": "ALTO"})
        assert answer.status_code == 200
        assert "Ya no recibirá" in (answer.json()["answer"] or "")
        phone = client.get("/simulator/phones").json()[patient.phone]
    assert [(t["direction"], t["body"][:14]) for t in phone] == [("out", "ALTO"), ("in", "Test Clinic: Y")]
    with Session(engine) as session:
        stored = session.get(Patient, patient.id)
        assert stored is not None
        assert stored.consent == ConsentStatus.REVOKED


def test_simulator_is_off_with_twilio(settings: Settings) -> None:
    twilio = settings.model_copy(update={"gateway": "twilio"})
    with TestClient(create_app(twilio)) as client:
        assert client.get("/simulator/phones").status_code == 404
        assert client.post("/simulator/phones/+12025550131/reply", json={"body": "hi"}).status_code == 404


def test_unknown_simulated_phone_is_404(client: TestClient) -> None:
    response = client.post("/simulator/phones/+12025550999/reply", json={"body": "hi"})
    assert response.status_code == 404
