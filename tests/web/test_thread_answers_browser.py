"""A coordinator sees in a thread what outreach answered by itself, at laptop and at phone width."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.inbox.support import text_in
from tests.web.conftest import Live, demo_clinic, demo_patient, screenshot, sign_in_in_browser

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1280, 390])
def test_the_emergency_reply_is_in_the_thread_and_the_page_fits(
    chromium: Browser, live: Live, width: int
) -> None:
    seed = demo_clinic(live.engine)
    james = demo_patient(live.engine, seed, "DEMO-007")
    with httpx.Client(base_url=live.url) as client:
        text_in(
            client, live.settings, "I have chest pain since this morning, what do I do", sender=james.phone
        )
    context = chromium.new_context(viewport={"width": width, "height": 844})
    page = context.new_page()
    try:
        sign_in_in_browser(page, live.url, seed.coordinator_key, "/app/queue")
        page.locator("table.queue tbody tr").first.get_by_role("link").click()
        automatic = page.locator("li.entry.automatic")
        expect(automatic).to_contain_text("Answered automatically")
        expect(automatic).to_contain_text("call 911")
        width_now = page.evaluate("document.documentElement.scrollWidth")
        assert width_now <= width, f"the thread page scrolls sideways ({width_now} px at {width} px)"
        screenshot(page, f"thread-automatic-{width}")
    finally:
        context.close()
