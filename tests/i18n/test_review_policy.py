"""A clinic that requires reviewed translations: drafts fall back or hold, and the admin sees why."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from outreach.campaigns import preview
from outreach.clinics.languages import set_require_reviewed
from outreach.clinics.models import Clinic
from outreach.db import session_scope
from outreach.i18n import catalogs
from outreach.i18n.languages import locales_dir
from outreach.messaging.models import MessageStatus
from tests.campaigns.support import book, enroll, launch_now, make_campaign, outbox
from tests.factories import auth, create_clinic, create_key, create_patient

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SOMALI_DRAFT = "Somali: draft translation, not reviewed by a native speaker"


@pytest.fixture
def spanish_reviewed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The catalogs with Spanish marked as reviewed by a native speaker (everything else a draft)."""
    copy = tmp_path / "locales"
    shutil.copytree(locales_dir(), copy)
    monkeypatch.setenv("OUTREACH_LOCALES_DIR", str(copy))
    catalogs.mark_reviewed("es", by="Ana Reyes", on=date(2026, 5, 20))


def _require(engine: Engine, clinic: Clinic) -> None:
    with session_scope(engine) as session:
        set_require_reviewed(session=session, clinic_id=clinic.id, required=True)


def _reminders(engine: Engine, clinic: Clinic, policy: str, *languages: str):  # type: ignore[no-untyped-def]
    patients = [create_patient(engine, clinic, language=language) for language in languages]
    for patient in patients:
        book(engine, clinic, patient.id, NOW + timedelta(days=5))
    campaign = make_campaign(engine, clinic, now=NOW, fallback_policy=policy)
    enroll(engine, campaign, now=NOW)
    return patients, campaign


def test_a_draft_language_goes_out_in_the_reviewed_fallback_and_the_outbox_says_so(
    engine: Engine, spanish_reviewed: None
) -> None:
    clinic = create_clinic(engine)
    _require(engine, clinic)
    (somali, spanish), campaign = _reminders(engine, clinic, "fallback", "so", "es")

    launch_now(engine, campaign, now=NOW)

    rows = {r.patient_id: r for r in outbox(engine, campaign.id)}
    assert rows[spanish.id].language == "es"  # reviewed: sent in Spanish
    assert rows[spanish.id].body.startswith("Test Clinic: Hola")
    assert rows[somali.id].language == "en"  # draft: the outbox records English, not Somali
    assert rows[somali.id].status == MessageStatus.SCHEDULED
    assert "you have a visit" in rows[somali.id].body


def test_a_draft_language_is_held_under_the_hold_policy_with_the_reason(engine: Engine) -> None:
    clinic = create_clinic(engine)
    _require(engine, clinic)
    _, campaign = _reminders(engine, clinic, "hold", "so")

    report = launch_now(engine, campaign, now=NOW)

    (row,) = outbox(engine, campaign.id)
    assert report.held == 1
    assert row.status == MessageStatus.HELD
    assert SOMALI_DRAFT in str(row.error_reason)
    assert "(so)" in str(row.error_reason)


def test_without_the_rule_a_draft_catalog_is_used_as_before(engine: Engine) -> None:
    clinic = create_clinic(engine)
    _, campaign = _reminders(engine, clinic, "fallback", "so")

    launch_now(engine, campaign, now=NOW)

    (row,) = outbox(engine, campaign.id)
    assert row.language == "so"
    assert row.body.startswith("Test Clinic: Salaan")


def test_dry_run_and_preview_carry_the_review_notice(engine: Engine) -> None:
    clinic = create_clinic(engine)
    (somali, _english), campaign = _reminders(engine, clinic, "fallback", "so", "en")

    with session_scope(engine) as session:
        timeline = preview.dry_run(session=session, clinic_id=clinic.id, campaign_id=campaign.id, now=NOW)
        shown = preview.preview(
            session=session,
            clinic_id=clinic.id,
            campaign_id=campaign.id,
            patient_id=somali.id,
            step=1,
            now=NOW,
        )

    assert timeline.notices == [SOMALI_DRAFT]
    assert shown.notice == SOMALI_DRAFT


def test_admin_sees_every_language_and_can_require_reviewed_translations(
    client: TestClient, engine: Engine
) -> None:
    clinic = create_clinic(engine)
    headers = auth(create_key(engine, clinic))

    listed = client.get("/admin/languages", headers=headers)
    assert listed.status_code == 200
    body = listed.json()
    assert body["require_reviewed_translations"] is False
    by_tag = {lang["tag"]: lang for lang in body["languages"]}
    assert len(by_tag) >= 30
    assert by_tag["ps"]["direction"] == "rtl"
    assert by_tag["ja"]["direction"] == "ltr"
    assert by_tag["so"]["name"] == "Somali"
    assert by_tag["so"]["review_status"] == "draft"
    assert by_tag["so"]["reviewed_by"] is None
    assert by_tag["so"]["notice"] == SOMALI_DRAFT
    assert by_tag["so"]["messages"] == 15  # 10 system texts (the program name among them), 5 templates
    assert by_tag["en"]["review_status"] == "reviewed"

    changed = client.put(
        "/admin/languages/policy", headers=headers, json={"require_reviewed_translations": True}
    )
    assert changed.status_code == 200
    assert client.get("/admin/languages", headers=headers).json()["require_reviewed_translations"] is True

    bad = client.put("/admin/languages/policy", headers=headers, json={"require_reviewed": "sometimes"})
    assert bad.status_code == 422
    assert "require_reviewed" in bad.text
