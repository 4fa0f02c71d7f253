"""A journey campaign at a glance, computed in the database: where running journeys are in their series,
why ended ones ended, and journey outcomes by the patient's language.

Outcomes per journey (`outcome_columns`, which the clinic's outcome report counts too; defined in
`outreach/reports/figures.py`): answered (the patient wrote at least once after it started), worse (a
check-in answered 3), no reply (a call task was raised for silence), ended early (opt-out, readmission, a
coordinator, a deleted event). A language with fewer than `SMALL_CELL` journeys shows nothing, and any
other count of 1-10 is withheld (None), so a small group's patients cannot be singled out.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import and_, case, exists, func, select
from sqlmodel import Session, col

from outreach.campaigns.models import CampaignStep
from outreach.campaigns.service import get_campaign
from outreach.inbox.models import InboundKind, InboundMessage
from outreach.journeys.models import Journey, JourneyStatus
from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.patients.models import Patient

SMALL_CELL = 11  # counts of 1-10 in a language are withheld


class LanguageOutcomes(BaseModel):
    """Journey outcomes for patients of one language (None: withheld, fewer than 11)."""

    journeys: int | None
    answered: int | None
    worse: int | None
    no_reply: int | None
    ended_early: int | None


class JourneySummary(BaseModel):
    """Where a journey campaign's patients are."""

    active: int
    waiting_for_step: dict[int, int] = Field(description="running journeys by the step of their next text")
    ended: dict[str, int] = Field(description="ended journeys by reason")
    by_language: dict[str, LanguageOutcomes]


def _withheld(count: int) -> int | None:
    return None if 0 < count < SMALL_CELL else count


def _next_steps(session: Session, campaign_id: uuid.UUID) -> dict[int, int]:
    """Running journeys by the position of the step their earliest unsent text belongs to."""
    pending = (
        select(
            col(OutboundMessage.journey_id).label("journey_id"),
            col(OutboundMessage.step_id).label("step_id"),
            func.row_number()
            .over(partition_by=col(OutboundMessage.journey_id), order_by=col(OutboundMessage.send_at))
            .label("n"),
        )
        .join(Journey, col(Journey.id) == col(OutboundMessage.journey_id))
        .where(
            col(OutboundMessage.campaign_id) == campaign_id,
            col(OutboundMessage.status).in_([MessageStatus.SCHEDULED, MessageStatus.HELD]),
            col(Journey.status) == JourneyStatus.ACTIVE,
        )
        .subquery()
    )
    rows = session.execute(
        select(col(CampaignStep.position), func.count())
        .join(pending, pending.c.step_id == col(CampaignStep.id))
        .where(pending.c.n == 1)
        .group_by(col(CampaignStep.position))
    ).all()
    return {int(position): int(count) for position, count in sorted(rows)}


def outcome_columns() -> list[Any]:
    """Aggregates over journeys joined to their patients: how many, answered, worse, no reply, ended early."""
    mine = and_(
        col(InboundMessage.patient_id) == col(Journey.patient_id),
        col(InboundMessage.received_at) >= col(Journey.started_at),
    )
    answered = exists().where(mine)
    worse = exists().where(
        mine, col(InboundMessage.kind) == InboundKind.CHECKIN_ANSWER, col(InboundMessage.answer) == 3
    )

    def total(condition: Any) -> Any:
        return func.sum(case((condition, 1), else_=0))

    return [
        func.count().label("journeys"),
        total(answered).label("journeys_answered"),
        total(worse).label("journeys_worse"),
        total(col(Journey.escalated_at).is_not(None)).label("journeys_no_reply"),
        total(col(Journey.status) == JourneyStatus.ENDED).label("journeys_ended_early"),
    ]


def _outcomes(session: Session, campaign_id: uuid.UUID) -> dict[str, LanguageOutcomes]:
    rows = session.execute(
        select(col(Patient.language), *outcome_columns())
        .join(Patient, col(Patient.id) == col(Journey.patient_id))
        .where(col(Journey.campaign_id) == campaign_id)
        .group_by(col(Patient.language))
    ).all()
    hidden = LanguageOutcomes(journeys=None, answered=None, worse=None, no_reply=None, ended_early=None)
    return {
        str(language): hidden
        if _withheld(n) is None  # a small group: nothing about it, not even its zeros
        else LanguageOutcomes(
            journeys=_withheld(n),
            answered=_withheld(a),
            worse=_withheld(w),
            no_reply=_withheld(s),
            ended_early=_withheld(e),
        )
        for language, n, a, w, s, e in sorted(rows)
    }


def summary(*, session: Session, clinic_id: uuid.UUID, campaign_id: uuid.UUID) -> JourneySummary:
    """A journey campaign's running journeys by next step, ended ones by reason, outcomes by language."""
    campaign = get_campaign(session=session, clinic_id=clinic_id, campaign_id=campaign_id)
    states = session.execute(
        select(col(Journey.status), col(Journey.end_reason), func.count())
        .where(col(Journey.campaign_id) == campaign.id)
        .group_by(col(Journey.status), col(Journey.end_reason))
    ).all()
    active = sum(int(n) for status, _, n in states if status == JourneyStatus.ACTIVE)
    ended = {str(reason): int(n) for status, reason, n in states if status == JourneyStatus.ENDED}
    return JourneySummary(
        active=active,
        waiting_for_step=_next_steps(session, campaign.id),
        ended=ended,
        by_language=_outcomes(session, campaign.id),
    )
