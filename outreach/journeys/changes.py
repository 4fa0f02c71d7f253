"""Changing a recorded event: a corrected time re-plans its journeys' unsent texts, a deletion ends them.

The journey counterpart of `outreach/campaigns/changes.py`, under the same launch-record lock (so a
window being written never interleaves). Re-planning cancels the journey's unsent rows and plans the
series again from the corrected moment up to the written horizon: each step's sends already made are not
made again (the first ones of the new plan, as many as went out), sends whose new moment has passed are
not written (never late), and later windows write the rest.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from outreach.campaigns.enrollment import exclusion_reason
from outreach.campaigns.materialize import horizon, lock_launch
from outreach.campaigns.models import Campaign, CampaignStatus
from outreach.campaigns.planning import Planner, Recipient
from outreach.campaigns.service import PAUSED, get_steps
from outreach.clinics.models import Clinic
from outreach.errors import Conflict, Invalid, NotFound
from outreach.journeys import series
from outreach.journeys.enroll import end_journeys
from outreach.journeys.models import EndReason, Journey, JourneyAudit, JourneyStatus, PatientEvent
from outreach.journeys.schemas import PatientEventCorrection
from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.patients.models import Patient
from outreach.tenancy import find_owned

_PENDING = (MessageStatus.SCHEDULED, MessageStatus.HELD)
_NOT_SENT = (*_PENDING, MessageStatus.CANCELLED, MessageStatus.SKIPPED)
CORRECTED = "event corrected: planned again"


def get_event(*, session: Session, clinic_id: uuid.UUID, event_id: uuid.UUID) -> PatientEvent:
    """One of the clinic's recorded events (a deleted one, or another clinic's, is not found)."""
    event = find_owned(session, PatientEvent, event_id, clinic_id=clinic_id)
    if event is None or event.deleted_at is not None:
        raise NotFound("event")
    return event


def list_events(*, session: Session, clinic_id: uuid.UUID, patient_id: uuid.UUID) -> list[PatientEvent]:
    """A patient's recorded events, newest first."""
    query = select(PatientEvent).where(
        PatientEvent.clinic_id == clinic_id,
        PatientEvent.patient_id == patient_id,
        col(PatientEvent.deleted_at).is_(None),
    )
    return list(session.exec(query.order_by(col(PatientEvent.occurred_at).desc())))


def _journeys(session: Session, event_id: uuid.UUID) -> list[Journey]:
    query = select(Journey).where(Journey.event_id == event_id, Journey.status == JourneyStatus.ACTIVE)
    return list(session.exec(query.order_by(col(Journey.campaign_id))))  # launch records locked in order


def replan(*, session: Session, journey: Journey, anchor_at: datetime, now: datetime) -> int:
    """Plan a journey again from a corrected moment; return how many rows were written (lock held)."""
    campaign = session.get_one(Campaign, journey.campaign_id)
    launch = lock_launch(session, campaign.id)
    rows = session.exec(select(OutboundMessage).where(OutboundMessage.journey_id == journey.id)).all()
    sent = Counter(m.step_id for m in rows if m.status not in _NOT_SENT)
    session.execute(
        update(OutboundMessage)
        .where(col(OutboundMessage.journey_id) == journey.id, col(OutboundMessage.status).in_(_PENDING))
        .values(status=MessageStatus.CANCELLED, error_reason=CORRECTED, updated_at=now)
    )
    journey.anchor_at = anchor_at
    until = None if launch is None else horizon(launch)
    journey.planned_until = until
    session.add(journey)
    session.add(JourneyAudit(clinic_id=journey.clinic_id, journey_id=journey.id, action="replanned", at=now))
    patient = session.get_one(Patient, journey.patient_id)
    if (
        launch is None
        or until is None
        or exclusion_reason(str(patient.consent), patient.undeliverable_reason)
    ):
        session.flush()
        return 0
    clinic = session.get_one(Clinic, campaign.clinic_id)
    steps = get_steps(session=session, campaign_id=campaign.id)
    planner = Planner(clinic=clinic, campaign=campaign, steps=steps, now=now, launched_at=launch.launched_at)
    who = Recipient(
        patient.id, patient.given_name, patient.language, patient.timezone,
        journey_id=journey.id, anchor_at=anchor_at,
    )  # fmt: skip
    paused = campaign.status == CampaignStatus.PAUSED
    fresh = []
    for step in planner.steps:
        made = sent[step.id]  # the first sends of the new plan, as many as went out, are not made again
        pairs = list(zip(planner.targets(step, who), planner.rows_for_step(step, who), strict=True))[made:]
        for target, row in pairs:
            if target >= until or row["status"] == MessageStatus.SKIPPED.value:
                continue  # a later window writes it; a moment already past is never sent late
            if paused and row["status"] == MessageStatus.SCHEDULED.value:
                row.update(status=MessageStatus.HELD.value, error_reason=PAUSED)
            fresh.append(row)
    session.flush()
    return sum(series.write_rows(session.connection(), fresh).values())


def correct_event(
    *,
    session: Session,
    clinic_id: uuid.UUID,
    event_id: uuid.UUID,
    data: PatientEventCorrection,
    now: datetime,
) -> PatientEvent:
    """Correct an event; a new time re-plans the unsent texts of every journey it started."""
    event = get_event(session=session, clinic_id=clinic_id, event_id=event_id)
    changes = data.model_dump(exclude_unset=True)
    if not changes:
        raise Invalid("body", "give occurred_at, location or visit_type to correct")
    if "occurred_at" in changes and data.occurred_at is None:
        raise Invalid("occurred_at", "an event needs a time")
    moved = data.occurred_at is not None and data.occurred_at.astimezone(UTC) != event.occurred_at
    if moved and data.occurred_at is not None:
        taken = select(PatientEvent.id).where(
            PatientEvent.patient_id == event.patient_id,
            PatientEvent.kind == event.kind,
            PatientEvent.occurred_at == data.occurred_at.astimezone(UTC),
        )
        if session.exec(taken).first() is not None:
            raise Conflict("occurred_at: the patient already has an event of this kind at that time")
        event.occurred_at = data.occurred_at.astimezone(UTC)
    for name in ("location", "visit_type"):
        if name in changes:
            setattr(event, name, changes[name])
    event.updated_at = now
    session.add(event)
    session.flush()  # the unique key (patient, kind, moment) is checked here
    if moved:
        for journey in _journeys(session, event.id):
            replan(session=session, journey=journey, anchor_at=event.occurred_at, now=now)
    return event


def delete_event(*, session: Session, clinic_id: uuid.UUID, event_id: uuid.UUID, now: datetime) -> int:
    """Delete an event (kept, marked deleted, for the audit trail); end its journeys; return how many."""
    event = get_event(session=session, clinic_id=clinic_id, event_id=event_id)
    event.deleted_at, event.updated_at = now, now
    session.add(event)
    journeys = _journeys(session, event.id)
    for journey in journeys:
        lock_launch(session, journey.campaign_id)
    ended = end_journeys(session, [j.id for j in journeys], reason=EndReason.EVENT_DELETED.value, now=now)
    session.flush()
    return ended
