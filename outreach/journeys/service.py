"""Enrollment rules, a patient's journeys, and a coordinator ending a patient's journeys from a thread."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session, col, select

from outreach.campaigns.materialize import lock_launch
from outreach.campaigns.models import CampaignStatus
from outreach.campaigns.service import get_campaign
from outreach.errors import Conflict, Invalid, NotFound
from outreach.inbox.models import Thread, ThreadEvent
from outreach.journeys.enroll import end_journeys
from outreach.journeys.models import EndReason, EnrollmentRule, Journey, JourneyStatus
from outreach.journeys.schemas import RuleIn
from outreach.tenancy import find_owned, get_owned


def create_rule(*, session: Session, clinic_id: uuid.UUID, data: RuleIn, now: datetime) -> EnrollmentRule:
    """Add a rule; its campaign must be the clinic's and timed from events of the rule's kind."""
    campaign = get_campaign(session=session, clinic_id=clinic_id, campaign_id=data.campaign_id)
    if campaign.anchor_event is None:
        raise Invalid(
            "campaign_id", "the campaign is not timed from patients' events (it has no anchor_event)"
        )
    if campaign.anchor_event != data.event_kind.value:
        reason = f"the campaign is timed from '{campaign.anchor_event}' events, not '{data.event_kind.value}'"
        raise Invalid("event_kind", reason)
    if campaign.status == CampaignStatus.CANCELLED:
        raise Conflict("the campaign is cancelled")
    rule = EnrollmentRule(
        clinic_id=clinic_id,
        campaign_id=campaign.id,
        event_kind=data.event_kind,
        location=(data.location or "").strip() or None,
        visit_type=(data.visit_type or "").strip() or None,
        created_at=now,
    )
    session.add(rule)
    session.flush()
    return rule


def list_rules(*, session: Session, clinic_id: uuid.UUID) -> list[EnrollmentRule]:
    """The clinic's active rules, oldest first."""
    query = select(EnrollmentRule).where(EnrollmentRule.clinic_id == clinic_id, col(EnrollmentRule.active))
    return list(session.exec(query.order_by(col(EnrollmentRule.created_at))))


def deactivate_rule(*, session: Session, clinic_id: uuid.UUID, rule_id: uuid.UUID) -> None:
    """Stop a rule enrolling anyone (journeys it started keep running); kept for the audit trail."""
    rule = find_owned(session, EnrollmentRule, rule_id, clinic_id=clinic_id)
    if rule is None or not rule.active:
        raise NotFound("rule")
    rule.active = False
    session.add(rule)
    session.flush()


def list_journeys(*, session: Session, clinic_id: uuid.UUID, patient_id: uuid.UUID) -> list[Journey]:
    """A patient's journeys, newest first."""
    query = select(Journey).where(Journey.clinic_id == clinic_id, Journey.patient_id == patient_id)
    return list(session.exec(query.order_by(col(Journey.started_at).desc(), col(Journey.id).desc())))


def end_from_thread(
    *, session: Session, clinic_id: uuid.UUID, thread_id: uuid.UUID, key_id: uuid.UUID, now: datetime
) -> int:
    """End the active journeys of a thread's patient (unsent texts cancelled); return how many ended."""
    thread = get_owned(session, Thread, thread_id, clinic_id=clinic_id, name="thread")
    if thread.patient_id is None:
        raise Conflict("this thread is with a number no patient has: there is no journey to end")
    journeys = session.exec(
        select(Journey)
        .where(Journey.patient_id == thread.patient_id, Journey.status == JourneyStatus.ACTIVE)
        .order_by(col(Journey.campaign_id))
    ).all()
    if not journeys:
        raise Conflict("the patient has no running journey")
    for journey in journeys:
        lock_launch(session, journey.campaign_id)
    ended = end_journeys(
        session, [j.id for j in journeys], reason=EndReason.COORDINATOR.value, now=now, key_id=key_id
    )
    session.add(
        ThreadEvent(clinic_id=clinic_id, thread_id=thread.id, kind="journey_ended", key_id=key_id, at=now)
    )
    session.flush()
    return ended
