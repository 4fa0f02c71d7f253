"""Helpers for campaign tests: create, enroll, launch through the services, and read the outbox."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach.campaigns import enrollment, launch, materialize, service
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


# A lookahead past every visit and series in these tests: the worker writes the whole plan at once.
WHOLE_PLAN = timedelta(days=400)


def launch_now(
    engine: Engine, campaign: Campaign, *, now: datetime, chunk: int = 5000, ahead: timedelta = WHOLE_PLAN
) -> LaunchReport:
    """Launch in its own transaction, then let the worker write the texts up to `ahead`."""
    with session_scope(engine) as session:
        launch.launch(session=session, clinic_id=campaign.clinic_id, campaign_id=campaign.id, now=now)
    return materialize_now(engine, campaign, now=now, chunk=chunk, ahead=ahead)


def materialize_now(
    engine: Engine, campaign: Campaign, *, now: datetime, chunk: int = 5000, ahead: timedelta = WHOLE_PLAN
) -> LaunchReport:
    """Run the worker's materialisation for one campaign at `now`; return its launch's progress."""
    materialize.advance(engine=engine, campaign_id=campaign.id, now=now, ahead=ahead, chunk=chunk)
    return progress(engine, campaign)


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


def materialize_one_chunk(session: Session, campaign_id: uuid.UUID, *, now: datetime, chunk: int) -> None:
    """One committed chunk of the worker's materialisation, as if the worker then stopped."""
    materialize.write_chunk(session, campaign_id, now=now, ahead=WHOLE_PLAN, chunk=chunk)


def progress(engine: Engine, campaign: Campaign) -> LaunchReport:
    """The campaign's launch progress as the API shows it."""
    with Session(engine) as session:
        record = launch.get_launch(session=session, clinic_id=campaign.clinic_id, campaign_id=campaign.id)
        return launch.report(record)
