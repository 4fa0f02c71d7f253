"""Step timing in words: from the visit for reminders, from the patient's own event for journeys."""

from __future__ import annotations

from datetime import time

from outreach.campaigns.models import CampaignStep
from outreach.web.journey_view import step_timing


def _step(**fields: object) -> CampaignStep:
    return CampaignStep.model_validate(
        {"campaign_id": "00000000-0000-0000-0000-000000000001", "position": 1, **fields}
    )


def test_reminder_and_anchor_date_steps_read_as_before() -> None:
    assert step_timing(_step(offset_minutes=-1440)) == "24 h before the visit"
    assert step_timing(_step(first_after_days=3, every_days=7, times=1)) == "3 days after the anchor date"
    assert (
        step_timing(_step(first_after_days=3, every_days=7, times=2))
        == "3 days after the anchor date, then every 7 days, 2 times"
    )


def test_journey_steps_read_from_the_patients_own_event() -> None:
    assert (
        step_timing(_step(offset_minutes=90), "procedure_done") == "1 h 30 min after the patient's procedure"
    )
    weekly = _step(first_after_days=7, every_days=7, times=6, local_time=time(10, 0))
    assert step_timing(weekly, "discharged") == (
        "7 days after the patient's discharge, then every 7 days, 6 times, at 10:00 in the patient's time"
    )
    assert (
        step_timing(_step(first_after_days=1, times=1), "first_visit")
        == "1 day after the patient's first visit"
    )
