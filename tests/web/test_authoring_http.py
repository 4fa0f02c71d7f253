"""Writing and changing campaigns through the web app's forms: refused input names the field, nothing is
written on a refusal, and a launched campaign cannot be changed."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from outreach.campaigns.launch import launch
from outreach.campaigns.models import Campaign, CampaignStep
from outreach.db import session_scope, utcnow
from outreach.i18n import catalogs
from outreach.i18n.languages import locales_dir
from tests.factories import create_clinic, create_key, create_patient
from tests.web.conftest import csrf_of, reminder_campaign, sign_in


def _form(client: TestClient, url: str, **fields: str) -> dict[str, str]:
    return {"csrf_token": csrf_of(client.get(url)), **fields}


def test_an_unknown_placeholder_is_refused_with_the_allowed_ones_and_nothing_saved(
    web_client: TestClient, engine: Engine
) -> None:
    clinic = create_clinic(engine)
    sign_in(web_client, create_key(engine, clinic))
    form = _form(
        web_client, "/app/admin/campaigns/new", name="Check-ins", kind="checkin", s1_first_after_days="2",
        s1_times="1", s1_source="own", s1_body_en="Hi {first_name}, about your {diagnosis}: reply 1, 2 or 3.",
    )  # fmt: skip
    answer = web_client.post("/app/admin/campaigns/new", data=form, follow_redirects=False)
    assert answer.status_code == 422
    assert "steps.0.bodies.en" in answer.text
    assert "&#39;{diagnosis}&#39; is not allowed" in answer.text
    # A check-in has no visit: the allowed list leaves the appointment placeholders out.
    assert "allowed: {clinic_name}, {clinic_phone}, {first_name}" in answer.text
    assert "Hi {first_name}, about your {diagnosis}" in answer.text  # what was typed is kept
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Campaign)).one() == 0


def test_live_feedback_counts_patients_segments_and_cost_per_language(
    web_client: TestClient, engine: Engine
) -> None:
    clinic = create_clinic(engine)
    for _ in range(4):
        create_patient(engine, clinic, language="am")
    create_patient(engine, clinic, language="am", consent="revoked")  # not counted: no texts for them
    sign_in(web_client, create_key(engine, clinic))
    amharic = "ሰላም {first_name}፣ ቀጠሮዎ {appointment_date} ነው። ለማረጋገጥ 1 ይመልሱ።"
    form = _form(
        web_client, "/app/admin/campaigns/new", name="x", kind="reminder", s1_hours="24", s1_source="own",
        s1_body_en="Hi {first_name}, your visit is {appointment_date}.", s1_body_am=amharic,
    )  # fmt: skip
    answer = web_client.post("/app/admin/campaigns/feedback", data=form)
    assert answer.status_code == 200
    row = answer.text.split('data-language="am"')[1].split("</tr>")[0]
    assert '<td class="num">4</td>' in row
    assert '1 <span class="tag">UCS-2</span>' in row  # Ethiopic script: one UCS-2 segment here
    assert "$0.0083" in row  # one segment at the clinic's default $0.0083
    assert "$0.03" in row  # 4 patients x 1 segment x $0.0083 = $0.0332


def test_a_draft_is_changed_in_place_and_a_launched_one_is_not(
    web_client: TestClient, engine: Engine
) -> None:
    clinic = create_clinic(engine)
    create_patient(engine, clinic, language="es")
    campaign = reminder_campaign(engine, clinic.id, name="Reminders")
    sign_in(web_client, create_key(engine, clinic))
    url = f"/app/admin/campaigns/{campaign.id}/edit"
    page = web_client.get(url)
    assert 'value="24"' in page.text  # the saved step: 24 hours before the visit
    form = _form(
        web_client, url, name="Reminders, two steps", kind="reminder", s1_hours="72", s1_source="builtin",
        s2_hours="2", s2_source="builtin", s2_template="same_day_reminder",
    )  # fmt: skip
    saved = web_client.post(url, data=form, follow_redirects=False)
    assert saved.status_code == 303
    with Session(engine) as session:
        stored = session.get_one(Campaign, campaign.id)
        steps = session.exec(
            select(CampaignStep)
            .where(CampaignStep.campaign_id == campaign.id)
            .order_by(col(CampaignStep.position))
        ).all()
        assert stored.name == "Reminders, two steps"
        assert [(s.offset_minutes, s.template) for s in steps] == [
            (-4320, "appointment_reminder"),
            (-120, "same_day_reminder"),
        ]
    with session_scope(engine) as session:
        launch(session=session, clinic_id=clinic.id, campaign_id=campaign.id, now=utcnow())
    assert web_client.get(url).status_code == 409
    again = web_client.post(url, data=form | {"name": "changed after launch"})
    assert again.status_code == 409
    with Session(engine) as session:
        assert session.get_one(Campaign, campaign.id).name == "Reminders, two steps"


@pytest.fixture
def spanish_reviewed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The catalogs with Spanish marked as reviewed by a native speaker (everything else a draft)."""
    copy = tmp_path / "locales"
    shutil.copytree(locales_dir(), copy)
    monkeypatch.setenv("OUTREACH_LOCALES_DIR", str(copy))
    catalogs.mark_reviewed("es", by="Ana Reyes", on=date(2026, 5, 20))


@pytest.mark.usefixtures("spanish_reviewed")
def test_feedback_and_template_library_say_which_built_in_translations_no_native_speaker_reviewed(
    web_client: TestClient, engine: Engine
) -> None:
    clinic = create_clinic(engine)
    for language in ["es", "so"]:
        create_patient(engine, clinic, language=language)
    sign_in(web_client, create_key(engine, clinic))
    form = _form(
        web_client, "/app/admin/campaigns/new", name="x", kind="reminder", s1_hours="24", s1_source="builtin",
    )  # fmt: skip
    answer = web_client.post("/app/admin/campaigns/feedback", data=form)
    assert answer.status_code == 200
    somali = answer.text.split('data-language="so"')[1].split("</tr>")[0]
    spanish = answer.text.split('data-language="es"')[1].split("</tr>")[0]
    assert "draft translation" in somali
    assert "draft translation" not in spanish
    assert "Somali: draft translation, not reviewed by a native speaker" in answer.text
    assert "Spanish: draft" not in answer.text

    library = web_client.get("/app/admin/templates").text
    section = library.split('id="built-in-translations"')[1].split("</section>")[0]
    somali_row = section.split('data-language="so"')[1].split("</tr>")[0]
    spanish_row = section.split('data-language="es"')[1].split("</tr>")[0]
    assert "draft" in somali_row
    assert "not reviewed by a native speaker" in somali_row
    assert "reviewed</span> by Ana Reyes on 2026-05-20" in spanish_row
