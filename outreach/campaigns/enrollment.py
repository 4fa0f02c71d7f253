"""Enrolling a clinic's patients in a campaign; patients who cannot get texts are counted, not enrolled."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Uuid, and_, exists, func, literal, true
from sqlalchemy.dialects import postgresql as pg_insert
from sqlalchemy.dialects import sqlite as sqlite_insert
from sqlmodel import Session, col, select

from outreach.campaigns.models import CampaignStatus, Enrollment
from outreach.campaigns.schemas import EnrollIn, EnrollReport
from outreach.campaigns.service import get_campaign
from outreach.db import UTCDateTime
from outreach.errors import Conflict, Invalid
from outreach.patients.models import Appointment, AppointmentStatus, ConsentStatus, Patient

_ID_CHUNK = 2000  # keeps IN lists well under SQLite's bound-parameter limit


def can_text() -> ColumnElement[bool]:
    """The condition a patient must meet to get campaign texts."""
    return and_(col(Patient.consent) == ConsentStatus.GRANTED, col(Patient.undeliverable_reason).is_(None))


def exclusion_reason(consent: str, undeliverable: str | None) -> str | None:
    """Why a patient cannot be texted, as a short code; None when they can."""
    if consent != ConsentStatus.GRANTED:
        return f"consent_{consent}"
    return "undeliverable" if undeliverable else None


def has_upcoming(now: datetime) -> ColumnElement[bool]:
    """The condition that a patient has a visit still ahead."""
    return exists().where(
        col(Appointment.patient_id) == col(Patient.id),
        col(Appointment.starts_at) > now,
        col(Appointment.status) != AppointmentStatus.CANCELLED,
    )


def _audiences(*, clinic_id: uuid.UUID, data: EnrollIn, now: datetime) -> Iterator[ColumnElement[bool]]:
    """WHERE clauses, one per chunk of listed ids, that pick the requested patients of this clinic."""
    modes = sum(
        [data.patient_ids is not None, bool(data.language or data.has_upcoming_appointment), data.all]
    )
    if modes != 1:
        raise Invalid(
            "enroll", "give exactly one of patient_ids, a filter (language, has_upcoming_appointment) or all"
        )
    mine = col(Patient.clinic_id) == clinic_id
    if data.patient_ids is not None:
        ids = sorted(set(data.patient_ids))
        for start in range(0, len(ids), _ID_CHUNK):
            yield and_(mine, col(Patient.id).in_(ids[start : start + _ID_CHUNK]))
        return
    clause = and_(mine, true())
    if data.language:
        clause = and_(clause, col(Patient.language) == data.language)
    if data.has_upcoming_appointment:
        clause = and_(clause, has_upcoming(now))
    yield clause


def _insert(session: Session) -> pg_insert.Insert | sqlite_insert.Insert:
    """An INSERT for enrollments in the dialect that knows ON CONFLICT DO NOTHING."""
    if session.get_bind().dialect.name == "postgresql":
        return pg_insert.insert(Enrollment)
    return sqlite_insert.insert(Enrollment)


def _new_id(session: Session) -> ColumnElement[Any]:
    """A fresh id computed by the database, so enrolling 100,000 patients is one statement."""
    if session.get_bind().dialect.name == "postgresql":
        return func.gen_random_uuid()
    return func.lower(func.hex(func.randomblob(16)))  # SQLite stores Uuid as 32 hex digits


def _enrolled_count(*, session: Session, campaign_id: uuid.UUID) -> int:
    # Counted rather than read from rowcount: psycopg reports -1 for INSERT ... SELECT here.
    query = select(func.count()).select_from(Enrollment).where(Enrollment.campaign_id == campaign_id)
    return session.exec(query).one()


def enroll(
    *, session: Session, clinic_id: uuid.UUID, campaign_id: uuid.UUID, data: EnrollIn, now: datetime
) -> EnrollReport:
    """Enroll patients who can get texts; count the others by reason (another clinic's ids are not found)."""
    campaign = get_campaign(session=session, clinic_id=clinic_id, campaign_id=campaign_id)
    if campaign.anchor_event is not None:
        raise Conflict("patients join a journey campaign through their events (its rules), not by enrollment")
    if campaign.status != CampaignStatus.DRAFT:
        raise Conflict(f"patients can be enrolled only before launch (this campaign is {campaign.status})")
    excluded: Counter[str] = Counter()
    found = 0
    before = _enrolled_count(session=session, campaign_id=campaign.id)
    for audience in _audiences(clinic_id=clinic_id, data=data, now=now):
        counts = session.exec(
            select(Patient.consent, Patient.undeliverable_reason.is_not(None), func.count())  # type: ignore[union-attr]
            .where(audience)
            .group_by(Patient.consent, Patient.undeliverable_reason.is_not(None))  # type: ignore[union-attr]
        ).all()
        for consent, undeliverable, count in counts:
            found += count
            reason = exclusion_reason(str(consent), "yes" if undeliverable else None)
            if reason is not None:
                excluded[reason] += count
        picked = select(
            _new_id(session), literal(campaign.id, Uuid()), col(Patient.id), literal(now, UTCDateTime())
        ).where(audience, can_text())
        stmt = _insert(session).from_select(["id", "campaign_id", "patient_id", "created_at"], picked)
        # ON CONFLICT rather than NOT EXISTS: the anti-join re-reads the rows it is inserting.
        session.execute(stmt.on_conflict_do_nothing(index_elements=["campaign_id", "patient_id"]))
    if data.patient_ids is not None and len(set(data.patient_ids)) > found:
        excluded["not_found"] = len(set(data.patient_ids)) - found
    enrolled = _enrolled_count(session=session, campaign_id=campaign.id) - before
    eligible = found - sum(v for k, v in excluded.items() if k != "not_found")
    return EnrollReport(enrolled=enrolled, already_enrolled=eligible - enrolled, excluded=dict(excluded))
