"""The template library in headless Chromium: a stale translation is flagged where a person looks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from outreach.db import session_scope, utcnow
from outreach.library.service import save_text
from tests.factories import create_clinic, create_key, create_patient
from tests.web.conftest import Live, screenshot, sign_in_in_browser

pytestmark = pytest.mark.browser


def test_a_stale_translation_is_flagged_and_can_be_confirmed(page: Page, live: Live) -> None:
    clinic = create_clinic(live.engine, name="Harbor Health")
    create_patient(live.engine, clinic, language="ar")
    create_patient(live.engine, clinic, language="zh-TW")
    then = utcnow() - timedelta(days=2)
    with session_scope(live.engine) as session:
        texts = [
            ("en", "{clinic_name}: Hi {first_name}, the clinic is closed on Monday.", then),
            ("ar", "{clinic_name}: مرحبًا {first_name}، العيادة مغلقة يوم الاثنين.", then),
            ("en", "{clinic_name}: Hi {first_name}, the clinic is closed on Monday and Tuesday.", utcnow()),
        ]
        for language, body, at in texts:
            save_text(session=session, clinic=clinic, name="Closed", language=language, body=body, now=at)
    sign_in_in_browser(page, live.url, create_key(live.engine, clinic), "/app/admin/templates")
    card = page.locator("section.library-template")
    expect(card).to_contain_text("1 stale")
    expect(card.locator("li", has_text="Arabic")).to_contain_text("stale: older than the source")
    expect(card.locator("li", has_text="Chinese")).to_contain_text("missing")
    screenshot(page, "template-library")
    card.get_by_role("button", name="Still says the same: mark Arabic current").click()
    expect(page.locator(".flash")).to_contain_text("marked current")
    expect(page.locator("section.library-template li", has_text="Arabic")).to_contain_text("current")
