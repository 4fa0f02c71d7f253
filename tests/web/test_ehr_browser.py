"""The EHR (FHIR) page in headless Chromium: reached from the menu, Sync now against a local FHIR server,
a failed write-back standing out with its error, then retried."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import update
from sqlmodel import col

from outreach.db import session_scope, utcnow
from outreach.patients.models import Appointment, AppointmentStatus
from tests.factories import create_clinic, create_key
from tests.fhir.server import fhir_server
from tests.fhir.test_sync import connect, patient, visit
from tests.web.conftest import Live, assert_accessible_basics, screenshot, sign_in_in_browser

pytestmark = pytest.mark.browser


def test_an_admin_syncs_from_the_ehr_page_and_retries_a_failed_write_back(page: Page, live: Live) -> None:
    clinic = create_clinic(live.engine, name="Riverside Community Clinic")
    key = create_key(live.engine, clinic)
    with fhir_server() as fake:
        fake.patients["p1"] = patient("p1", "202-555-0161")
        fake.put_appointment(visit("a1", "p1", utcnow() + timedelta(days=3)))
        connect(live.engine, clinic, fake, writeback_enabled=True)
        sign_in_in_browser(page, live.url, key, "/app/admin/patients")

        page.get_by_role("link", name="EHR (FHIR)").click()
        connection = page.get_by_role("region", name="Connection")
        expect(connection).to_contain_text(fake.base_url)
        expect(connection).to_contain_text("credentials stored encrypted (never shown)")
        expect(page.get_by_role("region", name="Sync runs")).to_contain_text("No sync has run yet.")

        page.get_by_role("button", name="Sync now").click()
        expect(page.get_by_role("status")).to_contain_text("Sync finished: Appointment: 1 created")
        runs = page.get_by_role("table", name="Sync runs, newest first")
        expect(runs.locator("tbody tr")).to_have_count(1)
        expect(runs).to_contain_text("Succeeded")

        with session_scope(live.engine) as session:  # the patient answered YES by text
            session.execute(
                update(Appointment)
                .where(col(Appointment.clinic_id) == clinic.id)
                .values(status=AppointmentStatus.CONFIRMED)
            )
        fake.conflicts_on_put = 2
        page.get_by_role("button", name="Sync now").click()
        expect(page.get_by_role("status")).to_contain_text("Sync finished")
        waiting = page.get_by_role("region", name="Write-backs not yet written")
        failed = waiting.locator("tbody tr.writeback-failed")
        expect(failed).to_have_count(1)
        expect(failed).to_contain_text("Failed")
        expect(failed).to_contain_text("update Appointment answered 412")
        assert "static-token" not in page.content()
        assert_accessible_basics(page)
        screenshot(page, "ehr-failed-write-back")

        page.get_by_role("button", name="Retry now").click()
        expect(page.get_by_role("status")).to_contain_text("Write-backs tried again: 1 written, 0 failed")
        expect(waiting).to_contain_text("Nothing waiting")
        written = page.get_by_role("region", name="Written to the EHR")
        expect(written).to_contain_text("Appointment/a1/_history/")

        page.set_viewport_size({"width": 390, "height": 844})  # a phone
        page.reload()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways ({width} px wide)"
        screenshot(page, "ehr-390")
