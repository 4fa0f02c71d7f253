"""The periodic summary refresh (Celery beat, every 5 minutes): each launched campaign's stored report
rows brought up to date from the record, each campaign in its own transaction."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from outreach.campaigns.models import Campaign, CampaignStatus
from outreach.db import session_scope
from outreach.messaging.models import OutboundMessage
from outreach.reports.summary import OVERLAP, changed_patients, refresh, state_of

log = logging.getLogger(__name__)

# A campaign with fewer texts than this is reported live (a few tens of milliseconds): no summary.
SUMMARY_FROM_TEXTS = 20_000


def has_texts(engine: Engine, campaign_id: uuid.UUID, at_least: int) -> bool:
    """The campaign has at least this many texts (counting no further)."""
    with session_scope(engine) as session:
        some = select(col(OutboundMessage.id)).where(col(OutboundMessage.campaign_id) == campaign_id)
        found = session.execute(select(func.count()).select_from(some.limit(at_least).subquery()))
        return int(found.scalar_one()) >= at_least


def _due(engine: Engine, campaign_id: uuid.UUID, clinic_id: uuid.UUID, reply_days: int) -> bool:
    """The stored rows were built with another reply window, or something changed since (less OVERLAP)."""
    with session_scope(engine) as session:
        state = state_of(session, campaign_id)
        if state is None or state.computed_at is None or state.reply_days != reply_days:
            return True
        since = state.computed_at - OVERLAP
        return bool(
            changed_patients(session, clinic_id=clinic_id, campaign_id=campaign_id, since=since, limit=1)
        )


def refresh_campaigns(
    *, engine: Engine, now: datetime, reply_days: int, min_texts: int = SUMMARY_FROM_TEXTS
) -> dict[str, int]:
    """Build the summary of each launched campaign with at least `min_texts` texts, refresh the ones
    with changes; return how many were built, refreshed, unchanged, left live, or busy elsewhere."""
    with session_scope(engine) as session:
        campaigns = session.execute(
            select(col(Campaign.id), col(Campaign.clinic_id)).where(
                col(Campaign.status) != CampaignStatus.DRAFT
            )
        ).all()
        built = {cid for (cid, _) in campaigns if state_of(session, cid) is not None}
    counts = dict.fromkeys(("built", "refreshed", "unchanged", "live", "busy"), 0)
    for campaign_id, clinic_id in campaigns:
        if campaign_id not in built and not has_texts(engine, campaign_id, min_texts):
            counts["live"] += 1
            continue
        if not _due(engine, campaign_id, clinic_id, reply_days):
            counts["unchanged"] += 1
            continue
        with session_scope(engine) as session:
            done = refresh(
                session=session, clinic_id=clinic_id, campaign_id=campaign_id, reply_days=reply_days, now=now
            )
        if done is None:
            counts["busy"] += 1
            continue
        counts["built" if campaign_id not in built else "refreshed"] += 1
        log.info("report summary of campaign %s: %s patients, full %s", campaign_id, done.patients, done.full)
    return counts
