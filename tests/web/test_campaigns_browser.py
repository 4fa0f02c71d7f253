"""The two-minute demo in headless Chromium: an admin launches a campaign and texts reach the phones."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from outreach.campaigns import materialize
from outreach.db import utcnow
from tests.web.conftest import (
    Live,
    assert_accessible_basics,
    deliver_due,
    demo_clinic,
    demo_patient,
    screenshot,
    sign_in_in_browser,
)

pytestmark = pytest.mark.browser


def test_admin_launches_reminders_and_phones_get_them_in_their_languages(page: Page, live: Live) -> None:
    seed = demo_clinic(live.engine)  # the demo's draft campaign, its patients already enrolled
    sign_in_in_browser(page, live.url, seed.admin_key, "/app/admin/campaigns")
    page.get_by_role("link", name="Visit reminders (demo)").click()
    page.get_by_role("button", name="Enroll every patient who agreed to texts").click()
    expect(page.get_by_role("status")).to_contain_text("Enrolled 0 patients (10 already were")
    timeline = page.get_by_role("region", name="Timeline preview")
    expect(timeline.get_by_role("table", name="Texts per language").get_by_role("row")).to_have_count(11)
    assert_accessible_basics(page)
    screenshot(page, "campaign-timeline")
    page.get_by_role("button", name="Launch campaign").click()
    expect(page.get_by_role("status")).to_contain_text("Launched: the texts are being written")
    materialize.run(engine=live.engine, now=utcnow())  # the worker's first window, default lookahead
    # The demo's visits are tomorrow, minutes from now: the "a day before" reminders are due within minutes,
    # so a newcomer watches them arrive (the scheduler and workers' code path, with time moved on).
    assert deliver_due(live.engine, until=utcnow() + timedelta(minutes=1)) == 0
    assert deliver_due(live.engine, until=utcnow() + timedelta(minutes=5)) == 10
    page.get_by_role("link", name="Phone simulator").click()
    maria = demo_patient(live.engine, seed, "DEMO-001")
    amina = demo_patient(live.engine, seed, "DEMO-004")
    expect(page.locator(f"#texts-{maria.id} .bubble.received p")).to_contain_text(
        "Riverside Community Clinic"
    )
    arabic = page.locator(f"#texts-{amina.id} .bubble.received p")
    assert arabic.evaluate("el => getComputedStyle(el).direction") == "rtl"
    screenshot(page, "simulator-after-launch")
    page.goto(f"{live.url}/app/admin/campaigns")
    row = page.get_by_role("row", name="Visit reminders (demo)")
    expect(row.get_by_role("cell").nth(5)).to_have_text("10")  # the Sent column
