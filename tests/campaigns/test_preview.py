"""Preview (one step, one patient) and dry run (the whole timeline) write nothing and tell the truth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from outreach.campaigns import preview
from outreach.db import session_scope
from outreach.errors import Conflict
from outreach.i18n import count_segments
from tests.campaigns.support import book, enroll, launch_now, make_campaign, outbox
from tests.factories import create_clinic, create_patient

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
STEPS = [{"offset_minutes": -1440}, {"offset_minutes": -120}]


def test_preview_renders_one_step_in_the_patients_language_and_zone(engine: Engine) -> None:
    clinic = create_clinic(engine, name="Riverside Health")
    patient = create_patient(engine, clinic, given_name="Lan", language="vi", timezone="America/Los_Angeles")
    visit = datetime(2026, 6, 10, 14, 30, tzinfo=ZoneInfo("America/Los_Angeles"))
    book(engine, clinic, patient.id, visit, location="Building C")
    campaign = make_campaign(engine, clinic, now=NOW, steps=STEPS)

    with session_scope(engine) as session:
        shown = preview.preview(
            session=session,
            clinic_id=clinic.id,
            campaign_id=campaign.id,
            patient_id=patient.id,
            step=2,
            now=NOW,
        )

    assert shown.language == "vi"
    assert not shown.fell_back
    assert shown.body is not None
    assert "Lan" in shown.body
    assert "Building C" in shown.body
    assert "14:30" in shown.body
    assert shown.send_at == visit - timedelta(hours=2)
    assert shown.segments == count_segments(shown.body).segments
    assert shown.encoding == "UCS-2"
    assert outbox(engine, campaign.id) == []


def test_preview_of_a_reminder_needs_an_upcoming_visit(engine: Engine) -> None:
    clinic = create_clinic(engine)
    patient = create_patient(engine, clinic)
    campaign = make_campaign(engine, clinic, now=NOW)
    with session_scope(engine) as session, pytest.raises(Conflict):
        preview.preview(
            session=session,
            clinic_id=clinic.id,
            campaign_id=campaign.id,
            patient_id=patient.id,
            step=1,
            now=NOW,
        )


def test_dry_run_counts_match_what_launch_then_writes(engine: Engine) -> None:
    clinic = create_clinic(engine, timezone="America/New_York")
    visit = datetime(2026, 6, 10, 15, 0, tzinfo=UTC)
    languages = ["es", "es", "vi", "he", "en"]  # Hebrew has no catalog: it falls back
    for language in languages:
        patient = create_patient(engine, clinic, language=language)
        book(engine, clinic, patient.id, visit)
    create_patient(engine, clinic, language="en", consent="revoked")
    campaign = make_campaign(engine, clinic, now=NOW, steps=STEPS)
    enroll(engine, campaign, now=NOW)
    with session_scope(engine) as session:
        clinic_cost = clinic.cost_per_segment
        timeline = preview.dry_run(session=session, clinic_id=clinic.id, campaign_id=campaign.id, now=NOW)

    assert outbox(engine, campaign.id) == []  # nothing written by a dry run
    launch_now(engine, campaign, now=NOW)
    rows = outbox(engine, campaign.id)

    assert timeline.rows == timeline.scheduled == len(rows) == 10
    assert timeline.per_day == {"2026-06-09": 5, "2026-06-10": 5}
    assert timeline.per_language == {"es": 4, "en": 4, "vi": 2}
    assert timeline.segments == sum(r.segments for r in rows)
    assert timeline.estimated_cost == pytest.approx(timeline.segments * clinic_cost)
    assert timeline.fallbacks == {"he->en": 2}
    assert timeline.excluded == {}  # the revoked patient was never enrolled


def test_dry_run_counts_enrolled_patients_who_lost_consent_or_their_visit(engine: Engine) -> None:
    clinic = create_clinic(engine)
    kept = create_patient(engine, clinic, language="en")
    no_visit = create_patient(engine, clinic, language="en")
    book(engine, clinic, kept.id, NOW + timedelta(days=3))
    campaign = make_campaign(engine, clinic, now=NOW)
    enroll(engine, campaign, now=NOW, patient_ids=[kept.id, no_visit.id])

    with session_scope(engine) as session:
        timeline = preview.dry_run(session=session, clinic_id=clinic.id, campaign_id=campaign.id, now=NOW)

    assert timeline.scheduled == 1
    assert timeline.excluded == {"no_upcoming_appointment": 1}
