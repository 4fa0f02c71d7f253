"""A journey campaign's page in headless Chromium: patients waiting at each step, drawn and tabled."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from outreach.db import utcnow
from tests.factories import create_clinic, create_key, create_patient
from tests.journeys.support import discharge, journey_campaign, journeys, mark_sent, texts
from tests.web.conftest import Live, screenshot, sign_in_in_browser

pytestmark = pytest.mark.browser


def test_the_campaign_page_shows_where_each_patients_journey_is(page: Page, live: Live) -> None:
    now = utcnow()
    clinic = create_clinic(live.engine, name="Riverside Community Clinic")
    campaign = journey_campaign(live.engine, clinic, now=now - timedelta(days=1))
    people = [create_patient(live.engine, clinic, timezone="UTC", language="es") for _ in range(4)]
    for patient in people:
        discharge(live.engine, clinic, patient.id, now - timedelta(hours=1), now=now)
    (journey,) = journeys(live.engine, people[0].id)
    first = texts(live.engine, journey.id)[0]
    mark_sent(live.engine, first.id, first.send_at)
    sign_in_in_browser(page, live.url, create_key(live.engine, clinic), f"/app/admin/campaigns/{campaign.id}")

    expect(page.locator("p.meta").first).to_contain_text(
        "timed from each patient's own discharge · 4 running"
    )
    summary = page.get_by_role("region", name="Patients in each step of their journey")
    expect(summary).to_contain_text("4 running journeys")
    expect(summary.get_by_role("img", name="Patients waiting: step 1 3, step 2 1")).to_be_visible()
    steps = summary.get_by_role("table", name="Waiting at each step")
    expect(steps.get_by_role("row").filter(has_text="48 h after the patient's discharge")).to_contain_text(
        "3"
    )
    outcomes = summary.get_by_role("table", name="Journey outcomes by patient language")
    expect(outcomes.get_by_role("row").filter(has_text="Spanish")).to_contain_text("fewer than 11 journeys")
    screenshot(page, "campaign-journeys")

    page.set_viewport_size({"width": 390, "height": 844})  # a phone: the summary fits, its wide table scrolls
    page.reload()
    fits = summary.evaluate("e => e.getBoundingClientRect().right <= 390 && e.scrollWidth <= e.clientWidth")
    assert fits, "the journey summary is wider than a phone"
    width = page.evaluate("document.documentElement.scrollWidth")  # the outcome funnels shrink to fit too
    assert width <= 390, f"the campaign page scrolls sideways ({width} px wide)"
    screenshot(page, "campaign-journeys-390")
