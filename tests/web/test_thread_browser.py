"""The coordinator's pages in headless Chromium: the queue refreshes itself; claim, reply, resolve; Arabic."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, col, select

from outreach.clinics.models import ApiKey
from outreach.inbox.models import Thread
from outreach.messaging.models import OutboundMessage
from outreach.web.deps import now_s
from outreach.web.sessions import COOKIE, MAX_AGE_S, encode, session_secret, signed_in
from tests.inbox.support import text_in
from tests.web.conftest import (
    Live,
    assert_accessible_basics,
    demo_clinic,
    demo_patient,
    screenshot,
    sign_in_in_browser,
)

pytestmark = pytest.mark.browser


def _text(live: Live, body: str, sender: str) -> None:
    """A patient's text through the served app's real, signed inbound webhook."""
    with httpx.Client(base_url=live.url) as client:
        text_in(client, live.settings, body, sender=sender)


def test_coordinator_claims_replies_and_resolves_the_urgent_thread(page: Page, live: Live) -> None:
    seed = demo_clinic(live.engine)
    maria = demo_patient(live.engine, seed, "DEMO-001")
    james = demo_patient(live.engine, seed, "DEMO-007")
    linh = demo_patient(live.engine, seed, "DEMO-002")
    _text(live, "Tôi có câu hỏi về thuốc", linh.phone)
    _text(live, "ALTO", maria.phone)
    _text(live, "I have chest pain since this morning", james.phone)
    sign_in_in_browser(page, live.url, seed.coordinator_key, "/app/queue")
    rows = page.locator("table.queue tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("James Walker")
    expect(rows.first).to_contain_text("Urgent")
    expect(rows.nth(1)).to_contain_text("Interpreter needed")
    handled = page.get_by_role("region", name="Handled automatically")
    expect(handled).to_contain_text("Maria Gonzalez")
    expect(handled).to_contain_text("opted out of texts")
    assert_accessible_basics(page)
    screenshot(page, "queue")

    rows.first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("James Walker")
    page.get_by_role("button", name="Claim").click()
    expect(page.get_by_role("status")).to_contain_text("You are working on this thread now")
    page.get_by_label("Your own text").fill("We are calling you right now. If it gets worse, call 911.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_role("status")).to_contain_text("Reply on its way")
    expect(page.locator(".entry.outbound:not(.automatic) .body")).to_have_text(
        "We are calling you right now. If it gets worse, call 911."
    )
    page.get_by_label("Add a note").fill("Called; he is on his way to the ER.")
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_role("region", name="Notes for the care team")).to_contain_text("on his way to the ER")
    assert_accessible_basics(page)
    screenshot(page, "thread")

    page.get_by_label("Outcome").select_option(label="Called the patient")
    page.get_by_role("button", name="Resolve thread").click()
    page.wait_for_url(f"{live.url}/app/queue")
    expect(page.get_by_role("status")).to_contain_text("Resolved (called the patient)")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Linh Nguyen")
    with Session(live.engine) as session:
        sent = session.exec(select(OutboundMessage).where(OutboundMessage.patient_id == james.id)).one()
        assert sent.kind == "reply"


def test_arabic_thread_reads_right_to_left_and_previews_a_saved_reply(page: Page, live: Live) -> None:
    seed = demo_clinic(live.engine)
    amina = demo_patient(live.engine, seed, "DEMO-004")
    _text(live, "هل يمكنني إحضار ابنتي إلى الموعد؟", amina.phone)
    with Session(live.engine) as session:
        thread = session.exec(select(Thread).where(Thread.patient_id == amina.id)).one()
    page.set_viewport_size({"width": 768, "height": 1024})
    sign_in_in_browser(page, live.url, seed.coordinator_key, f"/app/threads/{thread.id}")
    inbound = page.locator(".entry.inbound .body")
    expect(inbound).to_have_text("هل يمكنني إحضار ابنتي إلى الموعد؟")
    assert inbound.evaluate("el => getComputedStyle(el).direction") == "rtl"
    assert inbound.get_attribute("lang") == "ar"
    expect(page.get_by_text("Interpreter needed", exact=True)).to_be_visible()
    page.get_by_label("Or a saved reply").select_option("appointment_reminder")
    preview = page.locator("#template-preview blockquote")
    expect(preview).to_contain_text("Amina")
    assert preview.evaluate("el => getComputedStyle(el).direction") == "rtl"
    expect(page.locator("#template-preview")).to_contain_text("segments (UCS-2")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 768, f"the thread page scrolls sideways at tablet width ({width}px)"
    assert_accessible_basics(page)
    page.get_by_label("Or a saved reply").select_option("appointment_reminder")
    expect(preview).to_contain_text("Amina")
    screenshot(page, "thread-arabic")
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_role("status")).to_contain_text("Reply on its way to the patient, in Arabic.")
    expect(page.locator(".entry.outbound:not(.automatic) .body")).to_contain_text("Amina")
    assert (
        page.locator(".entry.outbound:not(.automatic) .body").evaluate("el => getComputedStyle(el).direction")
        == "rtl"
    )


def test_a_new_text_appears_in_the_open_queue_without_a_reload(page: Page, live: Live) -> None:
    seed = demo_clinic(live.engine)
    james = demo_patient(live.engine, seed, "DEMO-007")
    wei = demo_patient(live.engine, seed, "DEMO-003")
    _text(live, "Where do I park?", wei.phone)
    page.set_viewport_size({"width": 768, "height": 1024})
    sign_in_in_browser(page, live.url, seed.coordinator_key, "/app/queue")
    rows = page.locator("table.queue tbody tr")
    expect(rows).to_have_count(1)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 768, f"the queue scrolls sideways at tablet width ({width}px)"
    page.evaluate("window.stillTheSamePage = true")
    _text(live, "I can't breathe", james.phone)
    expect(rows).to_have_count(2, timeout=8000)
    expect(rows.first).to_contain_text("James Walker")
    expect(rows.first).to_contain_text("Urgent")
    assert page.evaluate("window.stillTheSamePage") is True
    expect(page.locator("#announcer")).to_have_text("A new text is in the queue.")
    screenshot(page, "queue-tablet")


def test_session_ending_while_the_queue_polls_signs_in_and_returns(page: Page, live: Live) -> None:
    seed = demo_clinic(live.engine)
    sign_in_in_browser(page, live.url, seed.coordinator_key, "/app/queue?priority=urgent")
    with Session(live.engine) as session:
        key = session.exec(
            select(ApiKey).where(ApiKey.name == "demo coordinator", col(ApiKey.revoked_at).is_(None))
        ).one()
    stale = signed_in(key_id=key.id, clinic_id=key.clinic_id, role=key.role, now=now_s() - MAX_AGE_S - 5)
    page.context.add_cookies(
        [{"name": COOKIE, "value": encode(stale, secret=session_secret(live.settings)), "url": live.url}]
    )
    page.wait_for_url(f"{live.url}/app/sign-in*", timeout=8000)
    expect(page.get_by_role("status")).to_contain_text("Your session has ended")
    page.get_by_label("API key").fill(seed.coordinator_key)
    page.get_by_label("API key").press("Enter")
    page.wait_for_url(f"{live.url}/app/queue?priority=urgent")
    expect(page.get_by_label("Priority")).to_have_value("urgent")
