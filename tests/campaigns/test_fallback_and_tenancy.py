"""Language fallback policy (send in the fallback language, or hold and flag) and clinic tenancy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from outreach.campaigns import enrollment
from outreach.campaigns.schemas import EnrollIn
from outreach.db import session_scope
from outreach.errors import NotFound
from outreach.messaging.models import MessageStatus
from tests.campaigns.support import book, enroll, launch_now, make_campaign, outbox
from tests.factories import create_clinic, create_patient

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
BODIES = {
    "en": "Hi {first_name}, see you {appointment_date}.",
    "vi": "Chào {first_name}, hẹn gặp {appointment_date}.",
}


def _two_patients(engine: Engine, policy: str):  # type: ignore[no-untyped-def]
    clinic = create_clinic(engine, name="Harbor Clinic")
    vietnamese = create_patient(engine, clinic, given_name="Lan", language="vi")
    korean = create_patient(
        engine, clinic, given_name="Min", language="ko"
    )  # the campaign has no Korean text
    for patient in (vietnamese, korean):
        book(engine, clinic, patient.id, NOW + timedelta(days=5))
    steps = [{"offset_minutes": -1440, "bodies": BODIES}]
    campaign = make_campaign(engine, clinic, now=NOW, steps=steps, fallback_policy=policy)
    enroll(engine, campaign, now=NOW)
    return vietnamese, korean, campaign


def test_fallback_policy_sends_in_the_clinic_fallback_language(engine: Engine) -> None:
    vietnamese, korean, campaign = _two_patients(engine, "fallback")

    report = launch_now(engine, campaign, now=NOW)

    rows = {r.patient_id: r for r in outbox(engine, campaign.id)}
    assert report.scheduled == 2
    assert report.held == 0
    assert rows[vietnamese.id].language == "vi"
    assert rows[vietnamese.id].body.startswith("Chào Lan")
    assert rows[korean.id].language == "en"
    assert rows[korean.id].body.startswith("Hi Min")


def test_hold_policy_holds_and_flags_the_patient_without_text(engine: Engine) -> None:
    vietnamese, korean, campaign = _two_patients(engine, "hold")

    report = launch_now(engine, campaign, now=NOW)

    rows = {r.patient_id: r for r in outbox(engine, campaign.id)}
    assert report.scheduled == 1
    assert report.held == 1
    assert rows[vietnamese.id].status == MessageStatus.SCHEDULED
    assert rows[korean.id].status == MessageStatus.HELD
    assert "(ko)" in str(rows[korean.id].error_reason)


def test_builtin_template_falls_back_for_a_language_without_a_catalog(engine: Engine) -> None:
    clinic = create_clinic(engine)
    patient = create_patient(engine, clinic, language="he")  # no Hebrew catalog
    book(engine, clinic, patient.id, NOW + timedelta(days=5))
    campaign = make_campaign(engine, clinic, now=NOW)
    enroll(engine, campaign, now=NOW)

    launch_now(engine, campaign, now=NOW)

    (row,) = outbox(engine, campaign.id)
    assert row.language == "en"
    assert row.status == MessageStatus.SCHEDULED


def test_a_clinic_cannot_enroll_another_clinics_patients(engine: Engine) -> None:
    mine, theirs = create_clinic(engine, name="A"), create_clinic(engine, name="B")
    my_patient = create_patient(engine, mine, language="en")
    their_patient = create_patient(engine, theirs, language="en")
    for clinic, patient in ((mine, my_patient), (theirs, their_patient)):
        book(engine, clinic, patient.id, NOW + timedelta(days=5))
    campaign = make_campaign(engine, mine, now=NOW)

    report = enroll(engine, campaign, now=NOW, patient_ids=[my_patient.id, their_patient.id])
    launch_now(engine, campaign, now=NOW)

    assert report.enrolled == 1
    assert report.excluded == {"not_found": 1}
    assert {r.patient_id for r in outbox(engine, campaign.id)} == {my_patient.id}


def test_another_clinics_campaign_is_not_found(engine: Engine) -> None:
    mine, theirs = create_clinic(engine, name="A"), create_clinic(engine, name="B")
    campaign = make_campaign(engine, theirs, now=NOW)
    with session_scope(engine) as session, pytest.raises(NotFound):
        enrollment.enroll(
            session=session, clinic_id=mine.id, campaign_id=campaign.id, data=EnrollIn(all=True), now=NOW
        )
