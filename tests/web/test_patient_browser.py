"""Finding a patient and reading their texts in headless Chromium, at laptop and phone width."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.inbox.support import text_in
from tests.web.conftest import Live, demo_clinic, demo_patient, screenshot, sign_in_in_browser, text_patient

pytestmark = pytest.mark.browser


def _maria_wrote_back(live: Live) -> str:
    seed = demo_clinic(live.engine)
    maria = demo_patient(live.engine, seed, "DEMO-001")
    text_patient(live.engine, maria.id, "Clínica Riverside: Hola Maria, su cita es mañana a las 10:00.")
    with httpx.Client(base_url=live.url) as client:
        assert (
            text_in(client, live.settings, "ALTO", sender=maria.phone, to=seed.clinic.phone).status_code
            == 200
        )
    return seed.admin_key


def test_search_a_patient_by_the_last_digits_and_read_the_timeline(page: Page, live: Live) -> None:
    key = _maria_wrote_back(live)
    sign_in_in_browser(page, live.url, key, "/app/admin/patients")
    page.get_by_label("Search").fill("0101")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    page.get_by_role("link", name="Maria Gonzalez").click()
    texts = page.locator("ol.timeline li")
    expect(texts).to_have_count(3)
    expect(texts.nth(1)).to_contain_text("ALTO")
    expect(texts.nth(2)).to_contain_text("Answered automatically")
    expect(texts.nth(2)).to_contain_text("Ya no recibirá")
    expect(page.locator("#consent-title + .ledger")).to_contain_text("patient replied STOP")
    screenshot(page, "patient-page")


def test_the_patient_page_fits_a_phone(chromium: Browser, live: Live) -> None:
    key = _maria_wrote_back(live)
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        sign_in_in_browser(page, live.url, key, "/app/admin/patients?q=maria")
        page.get_by_role("link", name="Maria Gonzalez").click()
        expect(page.locator("ol.timeline li")).to_have_count(3)
        for name in ("patient-page-390", "patients-390"):
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{page.url} scrolls sideways ({width} px wide)"
            screenshot(page, name)
            page.goto(f"{live.url}/app/admin/patients")
    finally:
        context.close()
