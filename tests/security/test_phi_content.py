"""Minimum necessary: texts that name a diagnosis, test, medication or procedure are refused at authoring
time in the text's language, unless an admin overrides with a reason (audited); and the segment cap."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from outreach import i18n
from outreach.i18n.messages import SystemText, TemplateKey
from outreach.messaging.models import OutboundMessage
from outreach.security.models import AuditEvent
from outreach.security.phi import built_in, compile_terms
from tests.factories import auth, create_clinic, create_key, create_patient


def _campaign(bodies: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {
        "name": "Results",
        "kind": "reminder",
        "steps": [{"offset_minutes": -1440, "bodies": bodies}],
        **extra,
    }


def test_a_template_naming_an_hiv_test_result_is_refused_with_the_term(
    client: TestClient, engine: Engine
) -> None:
    key = auth(create_key(engine, create_clinic(engine)))
    answer = client.post(
        "/admin/campaigns", json=_campaign({"en": "Your HIV test result is ready"}), headers=key
    )
    assert answer.status_code == 422
    [problem] = answer.json()["detail"]
    assert problem["field"] == "steps.0.bodies.en"
    assert "'hiv'" in problem["reason"]
    assert client.get("/admin/campaigns", headers=key).json() == []


@pytest.mark.parametrize(
    ("language", "body", "term"),
    [
        ("es", "Hola {first_name}, su resultado de laboratorio está listo", "resultado de laboratorio"),
        ("vi", "Chào {first_name}, kết quả xét nghiệm của bạn đã có", "kết quả xét nghiệm"),
        ("ru", "Здравствуйте, {first_name}! Ваши результаты анализов готовы", "результат* анализ*"),
        ("zh-Hans", "{first_name}，您的癌症筛查结果已出", "癌"),
        ("ar", "مرحبا {first_name}، نتيجة الفحص جاهزة", "نتيجة الفحص"),
        ("de", "Hallo {first_name}, Ihr Testergebnis liegt vor", "testergebnis*"),
        ("ja", "{first_name}様、検査結果が出ました", "検査結果"),
        ("th", "คุณ {first_name} ผลตรวจของคุณพร้อมแล้ว", "ผลตรวจ"),
    ],
)
def test_terms_are_found_in_the_texts_own_language(
    client: TestClient, engine: Engine, language: str, body: str, term: str
) -> None:
    key = auth(create_key(engine, create_clinic(engine)))
    bodies = {"en": "Hi {first_name}, see you soon", language: body}
    answer = client.post("/admin/campaigns", json=_campaign(bodies), headers=key)
    assert answer.status_code == 422
    [problem] = answer.json()["detail"]
    assert problem["field"] == f"steps.0.bodies.{language}"
    assert f"'{term}'" in problem["reason"]


def test_an_admin_override_with_a_reason_is_accepted_and_audited(client: TestClient, engine: Engine) -> None:
    clinic = create_clinic(engine)
    key = auth(create_key(engine, clinic))
    patient = create_patient(engine, clinic, language="es")
    text = {"patient_id": str(patient.id), "body": "Su prueba de embarazo: llame a la clínica"}
    refused = client.post("/admin/messages", json=text, headers=key)
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["field"] == "body"
    reason = "the patient asked for it in writing"
    sent = client.post("/admin/messages", json={**text, "phi_override_reason": reason}, headers=key)
    assert sent.status_code == 201
    with Session(engine) as session:
        [override] = session.exec(select(AuditEvent).where(AuditEvent.action == "phi_override")).all()
        assert override.clinic_id == clinic.id
        assert override.key_id is not None
        assert reason in (override.reason or "")
        assert "embaraz*" in (override.reason or "")


def test_a_clinic_adds_a_term_and_permits_a_built_in_one(client: TestClient, engine: Engine) -> None:
    clinic = create_clinic(engine)
    key = auth(create_key(engine, clinic))
    patient = create_patient(engine, clinic, language="en")

    def send(body: str) -> int:
        answer = client.post(
            "/admin/messages", json={"patient_id": str(patient.id), "body": body}, headers=key
        )
        return int(answer.status_code)

    assert send("Your bariatric consult is on Monday") == 201
    added = client.post("/admin/security/phi-terms", json={"term": "bariatric"}, headers=key)
    assert added.status_code == 201
    assert send("Your bariatric consult is on Monday") == 422
    assert send("Your prenatal visit is on Monday") == 422
    permit = {"term": "prenatal", "language": "en", "allowed": True}
    assert client.post("/admin/security/phi-terms", json=permit, headers=key).status_code == 201
    assert send("Your prenatal visit is on Monday") == 201
    other = create_clinic(engine, name="Other")
    other_patient = create_patient(engine, other, language="en")
    other_key = auth(create_key(engine, other))
    elsewhere = {"patient_id": str(other_patient.id), "body": "Your prenatal visit is on Monday"}
    assert client.post("/admin/messages", json=elsewhere, headers=other_key).status_code == 422


def test_no_built_in_text_trips_the_check_in_any_language() -> None:
    shipped = built_in()
    assert set(shipped) == set(i18n.SUPPORTED)
    for language in i18n.SUPPORTED:
        terms = compile_terms([*shipped["en"], *shipped[language]])
        for key in [*TemplateKey, *SystemText]:
            text = i18n.template_text(key, language)
            assert terms.first_match(text) is None, (language, key, text)


def test_a_1550_character_ucs2_body_is_24_segments_and_refused_over_the_cap(
    client: TestClient, engine: Engine
) -> None:
    clinic = create_clinic(engine)
    key = auth(create_key(engine, clinic))
    patient = create_patient(engine, clinic, language="ru")
    body = "Ж" * 1550  # UCS-2: 67 characters per segment, so 24 segments (23 × 67 = 1541)
    text = {"patient_id": str(patient.id), "body": body}
    answer = client.post("/admin/messages", json=text, headers=key)
    assert answer.status_code == 422
    assert answer.json()["detail"] == [
        {"field": "body", "reason": "is 24 segments (UCS-2); this clinic allows at most 10 per text"}
    ]
    raised = client.patch("/admin/security/policy", json={"max_segments": 24}, headers=key)
    assert raised.json()["max_segments"] == 24
    assert client.post("/admin/messages", json=text, headers=key).status_code == 201
    with Session(engine) as session:
        assert [m.segments for m in session.exec(select(OutboundMessage))] == [24]
