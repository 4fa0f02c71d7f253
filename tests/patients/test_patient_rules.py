"""What a clinic is told when a patient cannot be stored: a number another patient has, a language tag
outreach does not support, a validator's words without Pydantic's prefix."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from outreach.config import Settings
from outreach.patients.models import Patient
from tests.factories import auth, create_clinic, create_key, create_patient
from tests.inbox.support import CLINIC_PHONE, coordinator, text_in


def _detail(answer: object) -> dict[str, str]:
    body = answer.json()  # type: ignore[attr-defined]
    assert body["error"] == "validation_error", body
    first: dict[str, str] = body["detail"][0]
    return first


def test_a_second_patient_on_the_same_number_is_refused_naming_the_first(
    client: TestClient, engine: Engine
) -> None:
    clinic = create_clinic(engine)
    create_patient(engine, clinic, external_id="MRN-1", phone="+12025550150")
    other = create_patient(engine, clinic, external_id="MRN-2", phone="+12025550151")
    elsewhere = create_clinic(engine, name="Elsewhere", phone="+12025550999")
    create_patient(engine, elsewhere, external_id="X-1", phone="+12025550150")  # another clinic: fine
    headers = auth(create_key(engine, clinic))
    body = {"external_id": "MRN-3", "phone": "(202) 555-0150", "language": "es"}
    refused = client.post("/admin/patients", json=body, headers=headers)
    assert refused.status_code == 422
    detail = _detail(refused)
    assert detail["field"] == "phone"
    assert "already the number of patient MRN-1" in detail["reason"]
    moved = client.patch(f"/admin/patients/{other.id}", json={"phone": "+12025550150"}, headers=headers)
    assert moved.status_code == 422
    assert (
        client.patch(f"/admin/patients/{other.id}", json={"given_name": "Ana"}, headers=headers).status_code
        == 200
    )
    with Session(engine) as session:
        assert (
            session.exec(
                select(func.count()).select_from(Patient).where(Patient.clinic_id == clinic.id)
            ).one()
            == 2
        )


def test_a_valid_but_unsupported_tag_says_so_and_what_it_would_fall_back_to(
    client: TestClient, engine: Engine
) -> None:
    clinic = create_clinic(engine)
    headers = auth(create_key(engine, clinic))
    marshallese = client.post(
        "/admin/patients",
        json={"external_id": "M-1", "phone": "+12025550160", "language": "mh"},
        headers=headers,
    )
    assert marshallese.status_code == 422
    reason = _detail(marshallese)["reason"]
    assert "'mh' is a valid language tag, but not one outreach supports" in reason
    assert "fall back to 'en'" in reason
    nonsense = {"external_id": "M-2", "phone": "+12025550161", "language": "xx-nonsense-tag"}
    garbage = client.post("/admin/patients", json=nonsense, headers=headers)
    assert "'xx-nonsense-tag' is not a valid BCP-47 language tag" in _detail(garbage)["reason"]


def test_validation_messages_carry_no_pydantic_prefix(client: TestClient, engine: Engine) -> None:
    clinic = create_clinic(engine, phone=CLINIC_PHONE)
    patient = create_patient(engine, clinic)
    settings: Settings = client.app.state.settings  # type: ignore[attr-defined]
    text_in(client, settings, "Tengo una pregunta", sender=patient.phone)
    headers = coordinator(engine, clinic)
    thread = client.get("/coordinator/threads", headers=headers).json()["items"][0]["id"]
    answer = client.post(f"/coordinator/threads/{thread}/replies", json={}, headers=headers)
    assert answer.status_code == 422
    assert _detail(answer)["reason"] == "give a non-empty body or a template"
