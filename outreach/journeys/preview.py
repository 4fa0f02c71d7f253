"""Dry run and preview of a journey campaign: each patient's series timed from their own event."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import replace

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from outreach.campaigns.enrollment import can_text
from outreach.campaigns.models import Campaign
from outreach.campaigns.planning import Recipient
from outreach.errors import Conflict, NotFound
from outreach.journeys.models import Journey, JourneyStatus, PatientEvent
from outreach.patients.models import Patient


def anchored(
    *, session: Session, campaign: Campaign, who: Recipient, event_id: uuid.UUID | None
) -> Recipient:
    """The patient timed from the given event of theirs, or from their latest event of the campaign's kind."""
    query = select(PatientEvent).where(
        PatientEvent.patient_id == who.patient_id,
        PatientEvent.clinic_id == campaign.clinic_id,
        col(PatientEvent.deleted_at).is_(None),
    )
    if event_id is not None:
        event = session.exec(query.where(PatientEvent.id == event_id)).first()
        if event is None:
            raise NotFound("event")
    else:
        query = query.where(PatientEvent.kind == campaign.anchor_event)
        event = session.exec(query.order_by(col(PatientEvent.occurred_at).desc())).first()
        if event is None:
            raise Conflict(f"the patient has no '{campaign.anchor_event}' event to time this journey from")
    return replace(who, anchor_at=event.occurred_at)


def journey_recipients(
    *, session: Session, campaign: Campaign, chunk: int = 10_000
) -> Iterator[list[Recipient]]:
    """The running journeys of patients who can be texted, each timed from its event, a chunk at a time."""
    query = (
        sa_select(
            col(Patient.id),
            col(Patient.given_name),
            col(Patient.language),
            col(Patient.timezone),
            col(Journey.id),
            col(Journey.anchor_at),
        )
        .join(Patient, col(Patient.id) == col(Journey.patient_id))
        .where(
            col(Journey.campaign_id) == campaign.id, col(Journey.status) == JourneyStatus.ACTIVE, can_text()
        )
        .order_by(col(Journey.id))
    )
    conn = session.connection()
    raw = conn.connection.driver_connection if conn.dialect.name == "postgresql" else None
    # A read-only request runs in autocommit; a server-side cursor needs a transaction of its own.
    scope = raw.transaction() if raw is not None and raw.autocommit else nullcontext()
    with scope:
        result = conn.execute(query, execution_options={"yield_per": chunk})
        for part in result.partitions():
            yield [Recipient(r[0], r[1], r[2], r[3], journey_id=r[4], anchor_at=r[5]) for r in part]
