"""Starting journeys from recorded events by the clinic's rules: set-based, once per event, audited.

One `INSERT … SELECT … ON CONFLICT DO NOTHING` matches every new event against the clinic's active rules
and starts a journey per (campaign, event); the unique key on (campaign, event) makes two imports of the
same event at once, or two rules for one campaign, start it once. A patient who cannot be texted
(consent not granted, number undeliverable) is counted, not enrolled. A newer event of the campaign's
kind ends the patient's earlier journey in it when the campaign restarts on readmission (its unsent
texts cancelled); otherwise the earlier journey keeps running and the new event starts none.
Journeys of a launched campaign get at once the texts its launch has already written windows for (a
late event: the sends already past are skipped, the next one that can still go is scheduled).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, insert, literal, not_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from outreach.campaigns.enrollment import can_text, exclusion_reason
from outreach.campaigns.materialize import horizon, lock_launch
from outreach.campaigns.models import Campaign, CampaignStatus
from outreach.campaigns.planning import Planner
from outreach.campaigns.service import get_steps
from outreach.clinics.models import Clinic
from outreach.db import UTCDateTime
from outreach.journeys import series
from outreach.journeys.models import (
    EndReason,
    EnrollmentRule,
    Journey,
    JourneyAudit,
    JourneyStatus,
    PatientEvent,
)
from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.patients.models import Patient

_OPEN = (CampaignStatus.DRAFT, CampaignStatus.LAUNCHED, CampaignStatus.PAUSED)
_PENDING = (MessageStatus.SCHEDULED, MessageStatus.HELD)


def _new_id(session: Session) -> Any:
    """A fresh id computed by the database (so a batch of journeys is one statement)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.gen_random_uuid()
    return func.lower(func.hex(func.randomblob(16)))  # SQLite stores Uuid as 32 hex digits


def _matches(session: Session, event_ids: Sequence[uuid.UUID]) -> Any:
    """(event, rule, campaign) for every rule the events match whose campaign is still open."""
    e, r, c = PatientEvent, EnrollmentRule, Campaign
    return (
        select(col(e.id))
        .select_from(e)
        .join(
            r,
            and_(
                col(r.clinic_id) == col(e.clinic_id),
                col(r.event_kind) == col(e.kind),
                col(r.active).is_(True),
                or_(col(r.location).is_(None), col(r.location) == col(e.location)),
                or_(col(r.visit_type).is_(None), col(r.visit_type) == col(e.visit_type)),
            ),
        )
        .join(c, and_(col(c.id) == col(r.campaign_id), col(c.status).in_(_OPEN)))
        .where(series.among(session, col(e.id), event_ids), col(e.deleted_at).is_(None))
    )


def _excluded(session: Session, event_ids: Sequence[uuid.UUID]) -> Counter[str]:
    """Matched events whose patient cannot be texted, by reason."""
    matched = _matches(session, event_ids).add_columns(
        col(Patient.consent), col(Patient.undeliverable_reason)
    )
    matched = matched.join(Patient, col(Patient.id) == col(PatientEvent.patient_id)).where(not_(can_text()))
    counts: Counter[str] = Counter()
    for _, consent, undeliverable in session.execute(matched):
        reason = exclusion_reason(str(consent), undeliverable)
        if reason is not None:
            counts[reason] += 1
    return counts


def _insert(session: Session, event_ids: Sequence[uuid.UUID], now: datetime) -> list[Any]:
    """Start the journeys the events call for; return (id, campaign, rule) of those started."""
    e, r, c = PatientEvent, EnrollmentRule, Campaign
    running = aliased(Journey)
    already = exists().where(
        col(running.campaign_id) == col(r.campaign_id),
        col(running.patient_id) == col(e.patient_id),
        col(running.status) == JourneyStatus.ACTIVE,
    )
    picked = (
        _matches(session, event_ids)
        .with_only_columns(
            _new_id(session),
            col(e.clinic_id),
            col(r.campaign_id),
            col(e.patient_id),
            col(e.id),
            col(r.id),
            literal(JourneyStatus.ACTIVE.value),
            col(e.occurred_at),
            literal(now, UTCDateTime()),
        )
        .join(Patient, col(Patient.id) == col(e.patient_id))
        .where(can_text(), or_(col(c.restart_on_readmission).is_(True), not_(already)))
    )
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    names = ["id", "clinic_id", "campaign_id", "patient_id", "event_id", "rule_id", "status", "anchor_at"]
    stmt = (
        dialect.insert(Journey)
        .from_select([*names, "started_at"], picked)
        .on_conflict_do_nothing(index_elements=["campaign_id", "event_id"])
        .returning(col(Journey.id), col(Journey.campaign_id), col(Journey.rule_id))
    )
    return list(session.execute(stmt))


def end_journeys(
    session: Session,
    journey_ids: Sequence[uuid.UUID],
    *,
    reason: str,
    now: datetime,
    key_id: uuid.UUID | None = None,
) -> int:
    """End active journeys: their unsent texts cancelled, an audit row each; return how many ended."""
    if not journey_ids:
        return 0
    ended = session.execute(
        update(Journey)
        .where(
            series.among(session, col(Journey.id), journey_ids), col(Journey.status) == JourneyStatus.ACTIVE
        )
        .values(status=JourneyStatus.ENDED, end_reason=reason, ended_at=now)
        .returning(col(Journey.id), col(Journey.clinic_id))
    ).all()
    if not ended:
        return 0
    ids = [row[0] for row in ended]
    session.execute(
        update(OutboundMessage)
        .where(
            series.among(session, col(OutboundMessage.journey_id), ids),
            col(OutboundMessage.status).in_(_PENDING),
        )
        .values(status=MessageStatus.CANCELLED, error_reason=f"journey ended: {reason}", updated_at=now)
    )
    audit = [
        {"id": uuid.uuid4(), "clinic_id": clinic, "journey_id": jid, "action": "ended", "key_id": key_id,
         "detail": reason, "at": now}
        for jid, clinic in ended
    ]  # fmt: skip
    session.execute(insert(JourneyAudit), audit)
    return len(ended)


def _restarted(
    session: Session, campaign_ids: Sequence[uuid.UUID], patient_ids: Sequence[uuid.UUID]
) -> list[uuid.UUID]:
    """Active journeys of these patients that a newer active journey of the same campaign supersedes."""
    newer = aliased(Journey)
    superseded = exists().where(
        col(newer.campaign_id) == col(Journey.campaign_id),
        col(newer.patient_id) == col(Journey.patient_id),
        col(newer.status) == JourneyStatus.ACTIVE,
        or_(
            col(newer.anchor_at) > col(Journey.anchor_at),
            and_(col(newer.anchor_at) == col(Journey.anchor_at), col(newer.id) > col(Journey.id)),
        ),
    )
    query = select(col(Journey.id)).where(
        series.among(session, col(Journey.campaign_id), campaign_ids),
        series.among(session, col(Journey.patient_id), patient_ids),
        col(Journey.status) == JourneyStatus.ACTIVE,
        superseded,
    )
    return list(session.execute(query).scalars())


def lock_campaigns(session: Session, event_ids: Sequence[uuid.UUID]) -> list[Campaign]:
    """The open campaigns the events' rules point at, their launch records share-locked in id order.

    Locking first means a window being written (which locks its launch for update) finishes before
    these journeys start or end, and never interleaves with them.
    """
    ids = sorted(
        {
            row[0]
            for row in session.execute(
                _matches(session, event_ids).with_only_columns(col(EnrollmentRule.campaign_id))
            )
        }
    )
    campaigns = []
    for campaign_id in ids:
        lock_launch(session, campaign_id)
        campaigns.append(session.get_one(Campaign, campaign_id))
    return campaigns


def plan_written(
    session: Session, campaigns: Sequence[Campaign], journey_ids: Sequence[uuid.UUID], now: datetime
) -> Counter[str]:
    """Give journeys the texts their launched campaign has already written windows for (locks held)."""
    tally: Counter[str] = Counter()
    for campaign in campaigns:
        launch = lock_launch(session, campaign.id)
        until = None if launch is None else horizon(launch)
        if launch is None or until is None:
            continue  # the first window plans them
        mine = (
            session.execute(
                select(col(Journey.id)).where(
                    series.among(session, col(Journey.id), journey_ids),
                    col(Journey.campaign_id) == campaign.id,
                )
            )
            .scalars()
            .all()
        )
        clinic = session.get_one(Clinic, campaign.clinic_id)
        steps = get_steps(session=session, campaign_id=campaign.id)
        planner = Planner(
            clinic=clinic, campaign=campaign, steps=steps, now=now, launched_at=launch.launched_at
        )
        tally += series.plan_until(session, planner, list(mine), until)
    return tally


def enroll_events(
    session: Session, event_ids: Sequence[uuid.UUID], now: datetime
) -> tuple[int, int, Counter[str]]:
    """Start the journeys new events call for; return (started, restarted, left out by reason)."""
    if not event_ids:
        return 0, 0, Counter()
    campaigns = lock_campaigns(session, event_ids)
    if not campaigns:
        return 0, 0, Counter()
    excluded = _excluded(session, event_ids)
    started = _insert(session, event_ids, now)
    if not started:
        return 0, 0, excluded
    ids = [row[0] for row in started]
    audit = [
        {"id": uuid.uuid4(), "clinic_id": campaigns[0].clinic_id, "journey_id": jid, "action": "enrolled",
         "rule_id": rule, "at": now}
        for jid, _, rule in started
    ]  # fmt: skip
    session.execute(insert(JourneyAudit), audit)
    patients = (
        session.execute(
            select(col(PatientEvent.patient_id)).where(series.among(session, col(PatientEvent.id), event_ids))
        )
        .scalars()
        .all()
    )
    restart = [c.id for c in campaigns if c.restart_on_readmission]
    superseded = _restarted(session, restart, sorted(set(patients))) if restart else []
    restarted = end_journeys(session, superseded, reason=EndReason.READMITTED.value, now=now)
    plan_written(session, campaigns, [i for i in ids if i not in set(superseded)], now)
    return len(ids) - len(set(superseded) & set(ids)), restarted, excluded
