"""The Reports page in headless Chromium: funnels drawn as SVG, the table under them, gaps standing out."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.factories import create_clinic, create_key
from tests.reports.demo_data import seed_gap_clinic
from tests.web.conftest import Live, assert_accessible_basics, screenshot, sign_in_in_browser

pytestmark = pytest.mark.browser


def test_reports_page_shows_each_groups_funnel_and_the_gaps(page: Page, live: Live) -> None:
    clinic = create_clinic(live.engine, name="Riverside Community Clinic")
    key = create_key(live.engine, clinic)
    cid = seed_gap_clinic(live.engine, clinic)
    sign_in_in_browser(page, live.url, key, "/app/admin/campaigns")

    page.get_by_role("link", name="Reports").click()
    page.get_by_label("Campaign").select_option(str(cid))
    page.get_by_role("button", name="Show").click()

    gaps = page.get_by_role("region", name="Gaps to act on")
    expect(gaps).to_contain_text("Spanish")
    expect(gaps).to_contain_text("points below English")
    table = page.get_by_role("table", name="The same figures as a table")
    rows = table.locator("tbody tr")

    def row(name: str):  # type: ignore[no-untyped-def]
        return rows.filter(has=page.locator("th", has_text=name)).first

    expect(row("Spanish")).to_have_class("flagged-row")
    expect(row("English")).not_to_have_class("flagged-row")
    funnels = page.locator("svg.funnel")
    expect(funnels).to_have_count(5)  # four languages and all patients
    assert page.locator("svg.funnel title").first.text_content()
    assert page.locator("script[src*='chart'], link[href^='http']").count() == 0  # nothing from elsewhere
    expect(page.get_by_role("region", name="Clinic-wide trend by week")).to_contain_text("Somali")
    assert_accessible_basics(page)
    screenshot(page, "reports-by-language")
    spanish = gaps.get_by_role("listitem").filter(has_text="Spanish")
    spanish.get_by_role("button", name="Make the follow-up list").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Follow-up for Spanish (not reached): 144 call tasks added to the coordinator queue"
    )


def test_a_launched_campaigns_page_summarises_outcomes_by_language(page: Page, live: Live) -> None:
    clinic = create_clinic(live.engine, name="Riverside Community Clinic")
    key = create_key(live.engine, clinic)
    cid = seed_gap_clinic(live.engine, clinic)
    sign_in_in_browser(page, live.url, key, f"/app/admin/campaigns/{cid}")

    summary = page.get_by_role("region", name="Outcomes by patient language")

    expect(summary.locator("svg.funnel")).to_have_count(5)
    expect(summary.locator(".alert")).to_contain_text("Somali")
    expect(summary.get_by_role("row").filter(has=page.locator("th", has_text="Spanish"))).to_contain_text(
        "336 (70%)"
    )
    screenshot(page, "campaign-outcomes-summary")
