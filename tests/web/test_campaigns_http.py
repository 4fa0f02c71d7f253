"""Campaign admin pages over plain HTTP: status, delivery figures, the timeline before launch, launching."""

from __future__ import annotations

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from outreach.campaigns import materialize, preview
from outreach.campaigns.models import Campaign, CampaignStatus
from outreach.clinics.models import Role
from outreach.db import utcnow
from outreach.messaging.models import OutboundMessage
from outreach.patients.models import Patient
from tests.campaigns.support import WHOLE_PLAN
from tests.factories import create_clinic, create_key
from tests.web.conftest import csrf_of, demo_clinic, reminder_campaign, sign_in


def _post(client: TestClient, page_url: str, action_url: str) -> Response:
    answer: Response = client.post(action_url, data={"csrf_token": csrf_of(client.get(page_url))})
    return answer


def test_draft_shows_the_timeline_then_launch_schedules_it(web_client: TestClient, engine: Engine) -> None:
    seed = demo_clinic(engine)
    campaign = reminder_campaign(engine, seed.clinic.id)
    sign_in(web_client, seed.admin_key)
    url = f"/app/admin/campaigns/{campaign.id}"
    page = _post(web_client, url, f"{url}/enroll-all")
    assert "Enrolled 10 patients" in page.text  # the flash after the redirect
    assert "Enrolled 10 patients" not in web_client.get(url).text  # shown once
    with Session(engine) as session:
        timeline = preview.dry_run(
            session=session, clinic_id=seed.clinic.id, campaign_id=campaign.id, now=utcnow()
        )
    assert timeline.scheduled == 10
    assert f"<strong>{timeline.scheduled}</strong> texts" in page.text
    assert "Arabic" in page.text
    assert "Haitian Creole" in page.text
    assert "Haitian Creole: draft translation, not reviewed by a native speaker" in page.text
    launched = _post(web_client, url, f"{url}/launch")
    assert "Launched: the texts are being written" in launched.text
    assert "Timeline preview" not in launched.text
    assert '<th scope="row">Progress</th><td>Queued</td>' in launched.text
    materialize.run(engine=engine, now=utcnow(), ahead=WHOLE_PLAN)  # what the worker does next
    page = web_client.get(url).text
    assert '<th scope="row">Texts written</th><td class="num">10</td>' in page
    assert '<th scope="row">Patients planned</th><td class="num">10</td>' in page
    with Session(engine) as session:
        assert session.get_one(Campaign, campaign.id).status == CampaignStatus.LAUNCHED
        rows = session.exec(select(OutboundMessage).where(OutboundMessage.campaign_id == campaign.id)).all()
    assert len(rows) == 10
    listing = web_client.get("/app/admin/campaigns")
    assert "Visit reminders" in listing.text
    assert 'class="num">10</td>' in listing.text


def test_launch_without_csrf_changes_nothing(web_client: TestClient, engine: Engine) -> None:
    seed = demo_clinic(engine)
    campaign = reminder_campaign(engine, seed.clinic.id)
    sign_in(web_client, seed.admin_key)
    assert web_client.post(f"/app/admin/campaigns/{campaign.id}/launch", data={}).status_code == 403
    with Session(engine) as session:
        assert session.get_one(Campaign, campaign.id).status == CampaignStatus.DRAFT


def test_launching_twice_explains_instead_of_failing(web_client: TestClient, engine: Engine) -> None:
    seed = demo_clinic(engine)
    campaign = reminder_campaign(engine, seed.clinic.id)
    sign_in(web_client, seed.admin_key)
    url = f"/app/admin/campaigns/{campaign.id}"
    csrf = csrf_of(web_client.get(url))
    web_client.post(f"{url}/enroll-all", data={"csrf_token": csrf})
    web_client.post(f"{url}/launch", data={"csrf_token": csrf})
    again = web_client.post(f"{url}/launch", data={"csrf_token": csrf})
    assert again.status_code == 409
    assert "already launched" in again.text


def test_another_clinics_campaign_is_not_found(web_client: TestClient, engine: Engine) -> None:
    seed = demo_clinic(engine)
    other = create_clinic(engine, name="Elsewhere", phone="+12025550177")
    theirs = reminder_campaign(engine, other.id, name="Their secret campaign")
    sign_in(web_client, create_key(engine, seed.clinic, Role.ADMIN))
    assert web_client.get(f"/app/admin/campaigns/{theirs.id}").status_code == 404
    assert "Their secret campaign" not in web_client.get("/app/admin/campaigns").text
    csrf = csrf_of(web_client.get("/app/admin/campaigns"))
    assert (
        web_client.post(f"/app/admin/campaigns/{theirs.id}/launch", data={"csrf_token": csrf}).status_code
        == 404
    )


def test_preview_shows_one_patients_text_in_their_language(web_client: TestClient, engine: Engine) -> None:
    seed = demo_clinic(engine)
    campaign = reminder_campaign(engine, seed.clinic.id)
    with Session(engine) as session:
        amina = session.exec(select(Patient).where(Patient.external_id == "DEMO-004")).one()
    sign_in(web_client, seed.admin_key)
    page = web_client.get(f"/app/admin/campaigns/{campaign.id}", params={"patient": str(amina.id), "step": 1})
    assert 'lang="ar" dir="rtl"' in page.text
    assert "(UCS-2)" in page.text
