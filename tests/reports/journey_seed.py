"""Journeys for report tests: patients discharged into a journey campaign, their answers, early ends."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from outreach.clinics.models import Clinic
from outreach.db import session_scope
from outreach.inbox.models import InboundKind, InboundMessage
from outreach.journeys.enroll import end_journeys
from outreach.journeys.models import EndReason
from outreach.patients.models import Patient
from tests.factories import create_patient
from tests.journeys.support import discharge, journey_campaign, journeys

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def discharged(engine: Engine, clinic: Clinic, count: int, language: str) -> list[Patient]:
    people = [create_patient(engine, clinic, timezone="UTC", language=language) for _ in range(count)]
    for person in people:
        discharge(engine, clinic, person.id, NOW - timedelta(hours=1), now=NOW)
    return people


def answer(engine: Engine, clinic: Clinic, people: list[Patient], value: int) -> None:
    with session_scope(engine) as session:
        for person in people:
            session.add(
                InboundMessage(
                    provider_sid=f"SM{uuid.uuid4().hex}",
                    clinic_id=clinic.id,
                    patient_id=person.id,
                    from_phone=person.phone,
                    to_phone=clinic.phone,
                    body=str(value),
                    language=person.language,
                    kind=InboundKind.CHECKIN_ANSWER,
                    answer=value,
                    received_at=NOW + timedelta(hours=50),
                )
            )


def end_early(engine: Engine, people: list[Patient]) -> None:
    ids = [journey.id for person in people for journey in journeys(engine, person.id)]
    with session_scope(engine) as session:
        end_journeys(session, ids, reason=EndReason.COORDINATOR.value, now=NOW + timedelta(days=3))


def seed(engine: Engine, clinic: Clinic) -> uuid.UUID:
    """12 Spanish (11 answered 1), 13 English (12 answered 3, 11 ended early), 3 Somali (1 answered)."""
    campaign = journey_campaign(engine, clinic, now=NOW - timedelta(days=1))
    spanish = discharged(engine, clinic, 12, "es-MX")
    english = discharged(engine, clinic, 13, "en")
    somali = discharged(engine, clinic, 3, "so")
    answer(engine, clinic, spanish[:11], 1)
    answer(engine, clinic, english[:12], 3)
    answer(engine, clinic, somali[:1], 2)
    end_early(engine, english[:11])
    return campaign.id
