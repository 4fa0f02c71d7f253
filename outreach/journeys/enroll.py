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

from sqlalchemy import Table, and_, case, exists, func, insert, literal, not_, null, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from outreach.campaigns.enrollment import can_text, exclusion_reason
from outreach.campaigns.materialize import horizon, lock_launch
from outreach.campaigns.models import Campaign, CampaignLaunch, CampaignStatus
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

_audit: Table = JourneyAudit.__table__  # type: ignore[attr-defined]  # SQLModel sets it on table models
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


def _insert(
    session: Session, event_ids: Sequence[uuid.UUID], now: datetime, written: dict[uuid.UUID, datetime]
) -> list[Any]:
    """Start the journeys the events call for; return (id, campaign) of those started.

    A journey of a launched campaign starts with `planned_until` at the launch's written horizon
    (`written`): its texts before it are written in this transaction, later windows write the rest.
    """
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
            case(
                *(
                    (col(r.campaign_id) == cid, literal(until, UTCDateTime()))
                    for cid, until in written.items()
                ),
                else_=null(),
            )
            if written
            else null(),
        )
        .join(Patient, col(Patient.id) == col(e.patient_id))
        .where(can_text(), or_(col(c.restart_on_readmission).is_(True), not_(already)))
    )
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    names = ["id", "clinic_id", "campaign_id", "patient_id", "event_id", "rule_id", "status", "anchor_at"]
    stmt = (
        dialect.insert(Journey)
        .from_select([*names, "started_at", "planned_until"], picked)
        .on_conflict_do_nothing(index_elements=["event_id", "campaign_id"])
        .returning(col(Journey.id), col(Journey.campaign_id))
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
    session.connection().execute(insert(_audit), audit)
    return len(ended)


def _restarted(session: Session, started: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """Active journeys a newer active journey of the same patient and campaign supersedes.

    Read from the journeys just started: each is paired with the patient's other active journeys of
    its campaign (restarting campaigns only), and the older of the two is superseded.
    """
    new, other = aliased(Journey), aliased(Journey)
    older_is_other = or_(
        col(other.anchor_at) < col(new.anchor_at),
        and_(col(other.anchor_at) == col(new.anchor_at), col(other.id) < col(new.id)),
    )
    query = (
        select(case((older_is_other, col(other.id)), else_=col(new.id)))
        .select_from(new)
        .join(
            other,
            and_(
                col(other.patient_id) == col(new.patient_id),
                col(other.campaign_id) == col(new.campaign_id),
                col(other.status) == JourneyStatus.ACTIVE,
                col(other.id) != col(new.id),
            ),
        )
        .join(Campaign, col(Campaign.id) == col(new.campaign_id))
        .where(series.among(session, col(new.id), started), col(Campaign.restart_on_readmission).is_(True))
    )
    return sorted(set(session.execute(query).scalars()))


def lock_campaigns(
    session: Session, event_ids: Sequence[uuid.UUID]
) -> list[tuple[Campaign, CampaignLaunch | None]]:
    """The open campaigns the events' rules point at, their launch records share-locked in id order.

    Locking first means a window being written (which locks its launch for update) finishes before
    these journeys start or end, and never interleaves with them; the written horizon holds until commit.
    """
    query = _matches(session, event_ids).with_only_columns(col(EnrollmentRule.campaign_id))
    ids = sorted({row[0] for row in session.execute(query)})
    return [(session.get_one(Campaign, cid), lock_launch(session, cid)) for cid in ids]


def plan_written(
    session: Session,
    locked: Sequence[tuple[Campaign, CampaignLaunch | None]],
    started: Sequence[tuple[uuid.UUID, uuid.UUID]],
    now: datetime,
) -> Counter[str]:
    """Give new journeys the texts their launched campaign has already written windows for (locks held)."""
    tally: Counter[str] = Counter()
    for campaign, launch in locked:
        until = None if launch is None else horizon(launch)
        mine = [jid for jid, cid in started if cid == campaign.id]
        if launch is None or until is None or not mine:
            continue  # the first window plans them
        clinic = session.get_one(Clinic, campaign.clinic_id)
        steps = get_steps(session=session, campaign_id=campaign.id)
        planner = Planner(
            clinic=clinic, campaign=campaign, steps=steps, now=now, launched_at=launch.launched_at
        )
        tally += series.plan_until(session, planner, mine, until, mark=False)
    return tally


def _audit_enrolled(session: Session, journey_ids: Sequence[uuid.UUID], now: datetime) -> None:
    """An audit row per journey started, naming its rule (one INSERT … SELECT)."""
    rows = select(
        _new_id(session), col(Journey.clinic_id), col(Journey.id), literal("enrolled"), col(Journey.rule_id),
        literal(now, UTCDateTime()),
    ).where(series.among(session, col(Journey.id), journey_ids))  # fmt: skip
    names = ["id", "clinic_id", "journey_id", "action", "rule_id", "at"]
    session.execute(insert(_audit).from_select(names, rows))


def enroll_events(
    session: Session, event_ids: Sequence[uuid.UUID], now: datetime
) -> tuple[int, int, Counter[str]]:
    """Start the journeys new events call for; return (started, restarted, left out by reason)."""
    if not event_ids:
        return 0, 0, Counter()
    locked = lock_campaigns(session, event_ids)
    if not locked:
        return 0, 0, Counter()
    excluded = _excluded(session, event_ids)
    written = {c.id: until for c, launch in locked if launch is not None and (until := horizon(launch))}
    started = [(row[0], row[1]) for row in _insert(session, event_ids, now, written)]
    if not started:
        return 0, 0, excluded
    ids = [jid for jid, _ in started]
    _audit_enrolled(session, ids, now)
    restart = any(c.restart_on_readmission for c, _ in locked)
    superseded = set(_restarted(session, ids) if restart else [])
    restarted = end_journeys(session, sorted(superseded), reason=EndReason.READMITTED.value, now=now)
    plan_written(session, locked, [s for s in started if s[0] not in superseded], now)
    return len(ids) - len(superseded & set(ids)), restarted, excluded
