"""Helpers for campaign tests: create, enroll, launch through the services, and read the outbox."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach.campaigns import enrollment, launch, service
from outreach.campaigns.models import Campaign
from outreach.campaigns.schemas import CampaignCreate, EnrollIn, EnrollReport, LaunchReport
from outreach.clinics.models import Clinic
from outreach.db import session_scope
from outreach.messaging.models import OutboundMessage
from outreach.patients.service import create_appointment


def make_campaign(engine: Engine, clinic: Clinic, *, now: datetime, **fields: Any) -> Campaign:
    """A draft campaign (a one-step −24 h reminder unless fields say otherwise)."""
    data: dict[str, Any] = {"name": "Reminders", "kind": "reminder", "steps": [{"offset_minutes": -1440}]}
    data.update(fields)
    with session_scope(engine) as session:
        return service.create_campaign(session=session, clinic=clinic, data=CampaignCreate(**data), now=now)


def enroll(engine: Engine, campaign: Campaign, *, now: datetime, **how: Any) -> EnrollReport:
    """Enroll patients (everyone unless told otherwise)."""
    data = EnrollIn(**(how or {"all": True}))
    with session_scope(engine) as session:
        return enrollment.enroll(
            session=session, clinic_id=campaign.clinic_id, campaign_id=campaign.id, data=data, now=now
        )


def launch_now(engine: Engine, campaign: Campaign, *, now: datetime, chunk: int = 5000) -> LaunchReport:
    """Launch in its own transaction."""
    with session_scope(engine) as session:
        return launch.launch(
            session=session, clinic_id=campaign.clinic_id, campaign_id=campaign.id, now=now, chunk=chunk
        )


def outbox(engine: Engine, campaign_id: uuid.UUID) -> list[OutboundMessage]:
    """The campaign's rows, by send time."""
    with Session(engine) as session:
        query = select(OutboundMessage).where(OutboundMessage.campaign_id == campaign_id)
        return list(session.exec(query.order_by(col(OutboundMessage.send_at))))


def book(
    engine: Engine,
    clinic: Clinic,
    patient_id: uuid.UUID,
    starts_at: datetime,
    location: str = "Room 4",
    *,
    now: datetime | None = None,
) -> uuid.UUID:
    """Book a visit (by default a month ahead of it); return its id."""

    with session_scope(engine) as session:
        visit = create_appointment(
            session=session,
            clinic_id=clinic.id,
            patient_id=patient_id,
            starts_at=starts_at,
            location=location,
            now=now or starts_at - timedelta(days=30),
        )
        return visit.id
