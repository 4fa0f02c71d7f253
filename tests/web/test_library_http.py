"""The clinic's template library: texts per language, missing and stale translations flagged, and a stale
translation never sent as if it were current."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from freezegun import freeze_time
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from outreach.campaigns.models import Campaign, CampaignStep
from outreach.db import utcnow
from tests.factories import create_clinic, create_key, create_patient
from tests.web.conftest import csrf_of, sign_in

EN = "{clinic_name}: Hi {first_name}, flu shots are free this week. Call {clinic_phone}."
ES = (
    "{clinic_name}: Hola {first_name}, las vacunas contra la gripe son gratis esta semana. "
    "Llame al {clinic_phone}."
)
VI = "{clinic_name}: Chào {first_name}, tuần này tiêm phòng cúm miễn phí. Gọi {clinic_phone}."


def _save(client: TestClient, **bodies: str) -> int:
    form = {"csrf_token": csrf_of(client.get("/app/admin/templates/edit")), "name": "Flu shots"}
    form |= {f"body_{lang}": text for lang, text in bodies.items()}
    status: int = client.post("/app/admin/templates/edit", data=form, follow_redirects=False).status_code
    return status


def test_a_translation_older_than_its_source_is_stale_and_left_out_of_a_campaign(
    web_client: TestClient, engine: Engine
) -> None:
    clinic = create_clinic(engine)
    for language in ["es", "vi", "so"]:
        create_patient(engine, clinic, language=language)
    sign_in(web_client, create_key(engine, clinic))
    start = utcnow()
    with freeze_time(start):
        assert _save(web_client, en=EN, es=ES, vi=VI) == 303
    with freeze_time(start + timedelta(minutes=5)):  # the English source changes; only Spanish is updated
        assert (
            _save(
                web_client,
                en=EN.replace("this week", "until Friday"),
                es=ES.replace("esta semana", "hasta el viernes"),
                vi=VI,
            )
            == 303
        )
    page = web_client.get("/app/admin/templates").text
    block = page.split("Flu shots</a></h2>")[1].split("</section>")[0]
    assert "1 stale" in block
    assert "1 missing" in block  # the Somali-speaking patient has no text
    vietnamese = block.split("Vietnamese")[1].split("</li>")[0]
    assert "stale: older than the source" in vietnamese
    spanish = block.split("Spanish")[1].split("</li>")[0]
    assert "current" in spanish
    # A campaign built from the library takes the current texts only: Vietnamese patients get English.
    form = {
        "csrf_token": csrf_of(web_client.get("/app/admin/campaigns/new")), "name": "Flu", "kind": "broadcast",
        "s1_send_at": (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"), "s1_source": "library",
        "s1_library": "Flu shots",
    }  # fmt: skip
    feedback = web_client.post("/app/admin/campaigns/feedback", data=form).text
    assert "Stale translations left out" in feedback
    assert "falls back to English" in feedback.split('data-language="vi"')[1].split("</tr>")[0]
    assert web_client.post("/app/admin/campaigns/new", data=form, follow_redirects=False).status_code == 303
    with Session(engine) as session:
        campaign = session.exec(select(Campaign)).one()
        step = session.exec(select(CampaignStep).where(CampaignStep.campaign_id == campaign.id)).one()
    assert sorted(step.bodies) == ["en", "es"]
    assert "hasta el viernes" in step.bodies["es"]


def test_confirming_a_stale_translation_makes_it_current(web_client: TestClient, engine: Engine) -> None:
    clinic = create_clinic(engine)
    sign_in(web_client, create_key(engine, clinic))
    start = utcnow()
    with freeze_time(start):
        _save(web_client, en=EN, vi=VI)
    with freeze_time(start + timedelta(minutes=5)):
        _save(web_client, en=EN + " ")  # whitespace only: the same text, so nothing goes stale
        assert "stale" not in web_client.get("/app/admin/templates").text.split("Flu shots</a></h2>")[1]
        _save(web_client, en=EN.replace("free", "free for everyone"))
    assert "1 stale" in web_client.get("/app/admin/templates").text
    with freeze_time(start + timedelta(minutes=10)):
        token = csrf_of(web_client.get("/app/admin/templates"))
        form = {"csrf_token": token, "name": "Flu shots", "language": "vi"}
        web_client.post("/app/admin/templates/confirm", data=form)
    page = web_client.get("/app/admin/templates").text
    assert "stale" not in page.split("Flu shots</a></h2>")[1].split("</section>")[0]


def test_a_bad_placeholder_or_a_missing_source_saves_nothing(web_client: TestClient, engine: Engine) -> None:
    clinic = create_clinic(engine)
    sign_in(web_client, create_key(engine, clinic))
    refused = web_client.post(
        "/app/admin/templates/edit",
        data={
            "csrf_token": csrf_of(web_client.get("/app/admin/templates/edit")), "name": "Flu shots",
            "body_en": EN, "body_es": "Hola {first_name}, su {diagnosis}",
        },
    )  # fmt: skip
    assert refused.status_code == 422
    assert "body.es" in refused.text
    assert "allowed:" in refused.text
    assert _save(web_client, es=ES) == 422  # no English source
    assert "No templates yet" in web_client.get("/app/admin/templates").text
