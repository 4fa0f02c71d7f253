"""The phone simulator in headless Chromium: texts arrive by themselves, replies go through the webhook."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from outreach.inbox.models import InboundKind, InboundMessage, Priority
from outreach.patients.models import ConsentStatus, Patient
from tests.web.conftest import (
    Live,
    assert_accessible_basics,
    demo_clinic,
    demo_patient,
    screenshot,
    sign_in_in_browser,
    text_patient,
)

pytestmark = pytest.mark.browser


def test_spanish_phone_replies_alto_and_gets_the_spanish_opt_out(page: Page, live: Live) -> None:
    seed = demo_clinic(live.engine)
    maria = demo_patient(live.engine, seed, "DEMO-001")
    sign_in_in_browser(page, live.url, seed.coordinator_key, "/app/simulator")
    phone = page.locator(f"#phone-{maria.id}")
    phone.get_by_label("Reply as Maria").fill("ALTO")
    phone.get_by_role("button", name="Send").click()
    expect(phone.locator(".bubble.sent p")).to_have_text("ALTO")
    expect(phone.locator(".bubble.received p").last).to_contain_text("Ya no recibirá")
    james = demo_patient(live.engine, seed, "DEMO-007")
    other = page.locator(f"#phone-{james.id}")
    other.get_by_label("Reply as James").fill("I have chest pain")
    other.get_by_label("Reply as James").press("Enter")
    expect(other.locator(".bubble.received p").last).to_contain_text("call 911")
    with Session(live.engine) as session:
        assert session.get_one(Patient, maria.id).consent == ConsentStatus.REVOKED
        urgent = session.exec(select(InboundMessage).where(InboundMessage.patient_id == james.id)).one()
        assert (urgent.kind, urgent.priority) == (InboundKind.URGENT, Priority.URGENT)


def test_texts_arrive_without_a_reload_and_arabic_reads_right_to_left(page: Page, live: Live) -> None:
    seed = demo_clinic(live.engine)
    amina = demo_patient(live.engine, seed, "DEMO-004")
    linh = demo_patient(live.engine, seed, "DEMO-002")
    sign_in_in_browser(page, live.url, seed.coordinator_key, "/app/simulator")
    page.get_by_label("Reply as Linh").fill("half-typed")
    text_patient(live.engine, amina.id, "عيادة ريفرسايد: تذكير بموعدك يوم الخميس. رد بـ 1 للتأكيد.")
    text_patient(live.engine, linh.id, "Phòng khám Riverside: Nhắc lịch hẹn của bạn vào thứ Năm.")
    arabic = page.locator(f"#texts-{amina.id} .bubble.received p")
    expect(arabic).to_contain_text("عيادة ريفرسايد", timeout=8000)
    assert arabic.evaluate("el => getComputedStyle(el).direction") == "rtl"
    expect(page.locator(f"#texts-{linh.id} .bubble.received p")).to_contain_text("Nhắc lịch hẹn")
    expect(page.get_by_label("Reply as Linh")).to_have_value("half-typed")
    assert_accessible_basics(page)
    screenshot(page, "simulator")
