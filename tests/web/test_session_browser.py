"""Sessions in headless Chromium: an expired session sends the person to sign in and back to the page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import col, select

from outreach.clinics.models import ApiKey
from outreach.db import session_scope
from outreach.web.deps import now_s
from outreach.web.sessions import COOKIE, MAX_AGE_S, encode, session_secret, signed_in
from tests.web.conftest import Live, assert_accessible_basics, demo_clinic, screenshot, sign_in_in_browser

pytestmark = pytest.mark.browser


def test_expired_session_signs_in_again_and_returns_to_the_page(page: Page, live: Live) -> None:
    seed = demo_clinic(live.engine)
    with session_scope(live.engine) as session:
        key = session.exec(
            select(ApiKey).where(ApiKey.name == "demo admin", col(ApiKey.revoked_at).is_(None))
        ).one()
    stale = signed_in(key_id=key.id, clinic_id=key.clinic_id, role=key.role, now=now_s() - MAX_AGE_S - 5)
    page.context.add_cookies(
        [{"name": COOKIE, "value": encode(stale, secret=session_secret(live.settings)), "url": live.url}]
    )
    page.goto(f"{live.url}/app/admin/patients?consent=granted")
    expect(page.get_by_role("status")).to_contain_text("Your session has ended")
    page.get_by_label("API key").fill(seed.admin_key)
    page.get_by_label("API key").press("Enter")
    page.wait_for_url(f"{live.url}/app/admin/patients?consent=granted")
    expect(page.get_by_role("row")).to_have_count(11)  # the header and the ten demo patients
    expect(page.get_by_label("Consent")).to_have_value("granted")


def test_wrong_key_message_sits_beside_the_field(page: Page, live: Live) -> None:
    page.goto(f"{live.url}/app/sign-in")
    page.get_by_label("API key").fill("not-a-key")
    page.get_by_role("button", name="Sign in").click()
    field = page.get_by_label("API key")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#api_key-error")).to_have_text(
        "That is not an outreach key: keys start with ok_ (copy the whole key)."
    )
    assert field.evaluate("el => document.activeElement === el")
    assert_accessible_basics(page)


def test_patients_page_at_tablet_width(page: Page, live: Live) -> None:
    seed = demo_clinic(live.engine)
    page.set_viewport_size({"width": 768, "height": 1024})
    sign_in_in_browser(page, live.url, seed.admin_key, "/app/admin/patients")
    expect(page.get_by_role("cell", name="Arabic", exact=False).first).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 768, f"the page scrolls sideways at tablet width ({width}px)"
    assert_accessible_basics(page)
    screenshot(page, "patients-tablet")
