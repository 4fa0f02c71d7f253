"""The scheduler re-checks campaign rows when it claims them: a change that slipped in late still wins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from outreach.campaigns import service
from outreach.campaigns.models import Campaign, CampaignStatus
from outreach.db import session_scope
from outreach.messaging import scheduler as messaging
from outreach.messaging.models import MessageStatus
from outreach.patients.models import Appointment, AppointmentStatus
from tests.campaigns.support import book, enroll, launch_now, make_campaign, outbox
from tests.factories import create_clinic, create_patient

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
VISIT = NOW + timedelta(days=3)


def _claim(engine: Engine, at: datetime) -> list[object]:
    with session_scope(engine) as session:
        return [mid for mid, _ in messaging.claim_due(session=session, now=at, limit=100)]


def _launched(engine: Engine) -> tuple[Campaign, object]:
    clinic = create_clinic(engine)
    patient = create_patient(engine, clinic, language="es")
    visit_id = book(engine, clinic, patient.id, VISIT)
    campaign = make_campaign(engine, clinic, now=NOW)
    enroll(engine, campaign, now=NOW)
    launch_now(engine, campaign, now=NOW)
    return campaign, visit_id


def test_a_visit_cancelled_behind_the_planners_back_cancels_its_reminder_at_claim(engine: Engine) -> None:
    campaign, visit_id = _launched(engine)
    with session_scope(engine) as session:  # e.g. a schedule sync that wrote the table directly
        session.execute(
            update(Appointment)
            .where(col(Appointment.id) == visit_id)
            .values(status=AppointmentStatus.CANCELLED)
        )

    assert _claim(engine, VISIT - timedelta(hours=23)) == []

    (row,) = outbox(engine, campaign.id)
    assert row.status == MessageStatus.CANCELLED
    assert row.error_reason == "the appointment was cancelled"


def test_a_campaign_paused_while_its_rows_were_due_holds_them_and_resume_releases_them(
    engine: Engine,
) -> None:
    campaign, _ = _launched(engine)
    with session_scope(engine) as session:  # the pause committed, its row update had not reached this row
        session.execute(
            update(Campaign).where(col(Campaign.id) == campaign.id).values(status=CampaignStatus.PAUSED)
        )

    assert _claim(engine, VISIT - timedelta(hours=23)) == []
    (row,) = outbox(engine, campaign.id)
    assert row.status == MessageStatus.HELD

    with session_scope(engine) as session:
        released = service.resume(
            session=session, clinic_id=campaign.clinic_id, campaign_id=campaign.id, now=NOW
        )
    assert released == 1
    assert len(_claim(engine, VISIT - timedelta(hours=23))) == 1
    with Session(engine) as session:
        assert session.get_one(Campaign, campaign.id).status == CampaignStatus.LAUNCHED
