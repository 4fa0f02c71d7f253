"""Helpers for journey tests: a journey campaign with its rule, events recorded, the outbox of a series."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach.campaigns.models import Campaign
from outreach.clinics.models import Clinic
from outreach.db import session_scope
from outreach.journeys import service
from outreach.journeys.events import EventRecord, record_patient_events
from outreach.journeys.models import EventKind, Journey
from outreach.journeys.schemas import RecordReport, RuleIn
from outreach.messaging.models import MessageStatus, OutboundMessage
from tests.campaigns.support import launch_now, make_campaign

# 48 hours after discharge, then every week for six weeks at 10:00 in the patient's zone.
SIX_WEEKS = [
    {"offset_minutes": 2880},
    {"first_after_days": 7, "every_days": 7, "times": 6, "local_time": "10:00"},
]


def journey_campaign(
    engine: Engine,
    clinic: Clinic,
    *,
    now: datetime,
    location: str | None = None,
    ahead: timedelta | None = None,
    **fields: Any,
) -> Campaign:
    """A launched post-discharge check-in campaign and a rule enrolling every discharge (from `location`)."""
    data: dict[str, Any] = {"name": "After discharge", "kind": "checkin", "anchor_event": "discharged"}
    data.update({"steps": SIX_WEEKS, **fields})
    campaign = make_campaign(engine, clinic, now=now, **data)
    with session_scope(engine) as session:
        rule = RuleIn(event_kind=EventKind.DISCHARGED, location=location, campaign_id=campaign.id)
        service.create_rule(session=session, clinic_id=clinic.id, data=rule, now=now)
    if ahead is None:
        launch_now(engine, campaign, now=now)
    else:
        launch_now(engine, campaign, now=now, ahead=ahead)
    return campaign


def discharge(
    engine: Engine,
    clinic: Clinic,
    patient_id: uuid.UUID,
    at: datetime,
    *,
    now: datetime | None = None,
    location: str | None = None,
) -> RecordReport:
    """Record a discharge in its own transaction."""
    record = EventRecord(kind=EventKind.DISCHARGED, occurred_at=at, patient_id=patient_id, location=location)
    with session_scope(engine) as session:
        return record_patient_events(session, clinic.id, [record], now=now)


def journeys(engine: Engine, patient_id: uuid.UUID) -> list[Journey]:
    """A patient's journeys, oldest first."""
    with Session(engine) as session:
        query = select(Journey).where(Journey.patient_id == patient_id).order_by(col(Journey.anchor_at))
        return list(session.exec(query))


def texts(engine: Engine, journey_id: uuid.UUID, *, live: bool = True) -> list[OutboundMessage]:
    """A journey's rows by send time (without cancelled ones unless `live` is False)."""
    with Session(engine) as session:
        query = select(OutboundMessage).where(OutboundMessage.journey_id == journey_id)
        rows = list(session.exec(query.order_by(col(OutboundMessage.send_at))))
    return [r for r in rows if not live or r.status != MessageStatus.CANCELLED]


def mark_sent(engine: Engine, message_id: uuid.UUID, at: datetime) -> None:
    """A text as the sender leaves it after the gateway took it."""
    with session_scope(engine) as session:
        message = session.get_one(OutboundMessage, message_id)
        message.status, message.sent_at, message.updated_at = MessageStatus.SENT, at, at
        session.add(message)
