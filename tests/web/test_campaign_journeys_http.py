"""A journey campaign's page: patients waiting at each step with the step's timing, ended journeys by
reason, and outcomes by language with small counts withheld (words, never a number)."""

from __future__ import annotations

import html as entities
import re
import uuid
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from outreach.db import session_scope
from outreach.inbox.models import InboundKind, InboundMessage
from outreach.patients.models import Patient
from tests.campaigns.support import launch_now, make_campaign
from tests.factories import create_clinic, create_key, create_patient
from tests.journeys.support import discharge, journey_campaign, journeys, mark_sent, texts
from tests.web.conftest import sign_in

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
_TAG = re.compile(r"<[^>]+>")
WEEKLY = "7 days after the patient's discharge, then every 7 days, 6 times, at 10:00 in the patient's time"


def _text(fragment: str) -> str:
    """What a person reads in an HTML fragment."""
    return " ".join(entities.unescape(_TAG.sub(" ", fragment)).split())


def table(html: str, caption: str) -> list[list[str]]:
    """The body rows of the table with this caption, each cell as its text."""
    found = re.search(rf"<caption>{re.escape(caption)}</caption>(.*?)</table>", html, re.S)
    assert found, f"no table {caption!r}"
    body = found.group(1).split("<tbody>", 1)[1]
    return [
        [_text(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def _answer(clinic_id: uuid.UUID, patient: Patient, n: int) -> InboundMessage:
    return InboundMessage(
        provider_sid=f"SMweb{n}",
        clinic_id=clinic_id,
        patient_id=patient.id,
        from_phone=patient.phone,
        to_phone="+12025550100",
        body="1",
        language="es",
        kind=InboundKind.CHECKIN_ANSWER,
        answer=1,
        received_at=NOW + timedelta(hours=50),
    )


def test_a_journey_campaigns_page_shows_patients_per_step_ended_ones_and_outcomes_by_language(
    web_client: TestClient, engine: Engine
) -> None:
    clinic = create_clinic(engine)
    campaign = journey_campaign(engine, clinic, now=NOW - timedelta(days=1))
    spanish = [create_patient(engine, clinic, timezone="UTC", language="es") for _ in range(12)]
    somali = [create_patient(engine, clinic, timezone="UTC", language="so") for _ in range(2)]
    for patient in spanish + somali:
        discharge(engine, clinic, patient.id, NOW - timedelta(hours=1), now=NOW)
    for patient in spanish[:3]:  # their 48-hour check-in went out: they now wait for the weekly ones
        (journey,) = journeys(engine, patient.id)
        first = texts(engine, journey.id)[0]
        mark_sent(engine, first.id, first.send_at)
    # Readmitted: a newer discharge ends the first journey and starts the series again.
    discharge(engine, clinic, spanish[11].id, NOW - timedelta(minutes=30), now=NOW)
    with session_scope(engine) as session:
        session.add_all(_answer(clinic.id, p, n) for n, p in enumerate(spanish[:11]))
    sign_in(web_client, create_key(engine, clinic))

    page = web_client.get(f"/app/admin/campaigns/{campaign.id}")

    assert page.status_code == 200, page.text
    html = page.text
    assert "Patients in each step of their journey" in html
    assert "14 running journeys" in html
    assert table(html, "Waiting at each step") == [
        ["1", "48 h after the patient's discharge", "11"],
        ["2", WEEKLY, "3"],
    ]
    assert '<svg class="funnel journey-steps"' in html
    assert "11 waiting" in html  # the bars say the same
    # The launch card does not count the campaign-wide plan (zero for journeys); it says how texts come.
    assert "Patients planned" not in html
    assert "written to the outbox when their discharge is recorded" in html
    assert table(html, "Ended journeys") == [["Restarted by a newer event (readmission)", "1"]]
    assert table(html, "Journey outcomes by patient language") == [
        ["Spanish", "13", "11", "0", "0", "fewer than 11"],
        ["Somali", "fewer than 11 journeys: not shown, so no patient can be singled out"],
    ]  # the two Somali patients' counts, even their zeros, are not on the page
    # The campaign's own steps read from the patient's discharge too, not "before the visit".
    steps = re.search(r'<ol class="steps">(.*?)</ol>', html, re.S)
    assert steps
    first_step = _text(steps.group(1))
    assert first_step.startswith("48 h after the patient's discharge — ")

    other = create_clinic(engine, name="Other Clinic", phone="+12025550199")
    web_client.cookies.clear()
    sign_in(web_client, create_key(engine, other))
    assert web_client.get(f"/app/admin/campaigns/{campaign.id}").status_code == 404


def test_a_campaign_timed_from_one_anchor_date_has_no_journey_summary(
    web_client: TestClient, engine: Engine
) -> None:
    clinic = create_clinic(engine)
    create_patient(engine, clinic)
    steps = [{"first_after_days": 2, "every_days": 7, "times": 1}]
    campaign = make_campaign(
        engine, clinic, now=NOW, name="Check-in", kind="checkin", anchor_date="2026-06-01", steps=steps
    )
    launch_now(engine, campaign, now=NOW)
    sign_in(web_client, create_key(engine, clinic))
    page = web_client.get(f"/app/admin/campaigns/{campaign.id}")
    assert page.status_code == 200
    assert "Patients in each step" not in page.text
    assert "2 days after the anchor date" in page.text


def test_journeys_whose_next_text_is_not_written_yet_are_counted_apart(
    web_client: TestClient, engine: Engine
) -> None:
    clinic = create_clinic(engine)
    # The launch writes texts an hour ahead: a 48-hour check-in is not in the outbox yet.
    campaign = journey_campaign(engine, clinic, now=NOW - timedelta(days=1), ahead=timedelta(hours=1))
    for _ in range(2):
        patient = create_patient(engine, clinic, timezone="UTC", language="es")
        discharge(engine, clinic, patient.id, NOW - timedelta(hours=1), now=NOW)
    sign_in(web_client, create_key(engine, clinic))
    html = web_client.get(f"/app/admin/campaigns/{campaign.id}").text
    assert "2 of them have no text scheduled right now" in html
    assert table(html, "Waiting at each step") == [
        ["1", "48 h after the patient's discharge", "0"],
        ["2", WEEKLY, "0"],
        ["—", "No text scheduled right now", "2"],
    ]
