"""Writing a campaign in the web app, in headless Chromium: live feedback per language as one types."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, col, select

from outreach.campaigns.models import Campaign, CampaignStep
from tests.factories import create_clinic, create_key, create_patient
from tests.web.conftest import Live, assert_accessible_basics, screenshot, sign_in_in_browser

pytestmark = pytest.mark.browser

SOMALI = (
    "{clinic_name}: Salaan {first_name}, ballantaada waa {appointment_date} saacadda {appointment_time}. "
    "Fadlan soo jawaab 1 si aad u xaqiijiso ama 2 si aad u joojiso. Su'aalo? Wac {clinic_phone}."
)
SPANISH = "{clinic_name}: Hola {first_name}, su cita es el {appointment_date} a las {appointment_time}."
ENGLISH = "{clinic_name}: Hi {first_name}, your visit is on {appointment_date} at {appointment_time}."


def test_a_two_step_reminder_in_three_languages_with_segments_per_language(page: Page, live: Live) -> None:
    clinic = create_clinic(live.engine, name="Harbor Health")
    for language in ["en", "es", "es", "so", "so", "so", "uk"]:
        create_patient(live.engine, clinic, language=language)
    sign_in_in_browser(page, live.url, create_key(live.engine, clinic), "/app/admin/campaigns")
    page.get_by_role("link", name="New campaign").click()
    assert_accessible_basics(page)
    page.get_by_label("Name", exact=True).fill("Flu clinic reminders")
    step1 = page.locator("fieldset.step").nth(0)
    step1.get_by_label("Hours before the visit").fill("48")
    step1.get_by_label("Our own text per language").check()
    step1.get_by_label("English (fallback)").fill(ENGLISH + " {diagnosis}")
    feedback = page.locator("#feedback-step-1")
    # The unknown placeholder is caught as it is typed, and the message lists what is allowed.
    expect(feedback.get_by_role("alert")).to_contain_text("'{diagnosis}' is not allowed")
    expect(feedback.get_by_role("alert")).to_contain_text("{first_name}")
    expect(step1.get_by_label("English (fallback)")).to_have_attribute("aria-invalid", "true")
    step1.get_by_label("English (fallback)").fill(ENGLISH)
    step1.get_by_label("Spanish", exact=True).fill(SPANISH)
    step1.get_by_label("Somali", exact=True).fill(SOMALI)
    expect(feedback.get_by_role("alert")).to_have_count(0)
    somali = feedback.locator('tr[data-language="so"]')
    expect(somali).to_contain_text("own text")
    expect(somali.locator("td").nth(0)).to_have_text("3")  # three Somali-speaking patients
    expect(somali).to_contain_text("2 GSM-7")  # the Somali text is longer than one segment
    expect(feedback.locator('tr[data-language="es"]')).to_contain_text("1 GSM-7")
    expect(feedback.locator('tr[data-language="uk"]')).to_contain_text("falls back to English")
    step2 = page.locator("fieldset.step").nth(1)
    step2.get_by_label("Hours before the visit").fill("2")
    expect(page.locator("#feedback-step-2")).to_contain_text("built-in")
    screenshot(page, "campaign-authoring")
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator(".flash")).to_have_text("Campaign saved as a draft.")
    with Session(live.engine) as session:
        campaign = session.exec(select(Campaign).where(Campaign.clinic_id == clinic.id)).one()
        steps = session.exec(
            select(CampaignStep)
            .where(CampaignStep.campaign_id == campaign.id)
            .order_by(col(CampaignStep.position))
        ).all()
    assert [s.offset_minutes for s in steps] == [-2880, -120]
    assert sorted(steps[0].bodies) == ["en", "es", "so"]
    assert (steps[1].bodies, steps[1].template) == ({}, "appointment_reminder")


def test_the_authoring_page_fits_a_phone(chromium: Browser, live: Live) -> None:
    clinic = create_clinic(live.engine)
    create_patient(live.engine, clinic, language="so")
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        sign_in_in_browser(page, live.url, create_key(live.engine, clinic), "/app/admin/campaigns/new")
        page.locator("fieldset.step").nth(0).get_by_label("Our own text per language").check()
        page.locator("fieldset.step").nth(0).get_by_label("Somali", exact=True).fill(SOMALI)
        expect(page.locator('#feedback-step-1 tr[data-language="so"]')).to_contain_text("own text")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways ({width} px wide)"
        screenshot(page, "campaign-authoring-390")
    finally:
        context.close()
