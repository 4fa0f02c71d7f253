"""Delivery figures for the campaign pages: texts per status and patients enrolled, one grouped query each."""

from __future__ import annotations

import uuid

from sqlalchemy import func
from sqlmodel import Session, col, select

from outreach.campaigns.models import Enrollment
from outreach.messaging.models import MessageStatus, OutboundMessage

# How the campaign list groups outbox statuses; the campaign page shows every status.
DELIVERY_GROUPS: dict[str, tuple[MessageStatus, ...]] = {
    "scheduled": (MessageStatus.SCHEDULED, MessageStatus.QUEUED, MessageStatus.HELD),
    "sent": (MessageStatus.SENDING, MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.UNKNOWN),
    "delivered": (MessageStatus.DELIVERED,),
    "failed": (MessageStatus.FAILED,),
    "not_sent": (MessageStatus.CANCELLED, MessageStatus.SKIPPED),
}


def delivery_figures(
    *, session: Session, clinic_id: uuid.UUID, campaign_ids: list[uuid.UUID]
) -> dict[uuid.UUID, dict[str, int]]:
    """Texts per outbox status for each campaign (one grouped query for the whole page)."""
    figures: dict[uuid.UUID, dict[str, int]] = {c: {} for c in campaign_ids}
    if not campaign_ids:
        return figures
    rows = session.exec(
        select(OutboundMessage.campaign_id, OutboundMessage.status, func.count())
        .where(OutboundMessage.clinic_id == clinic_id, col(OutboundMessage.campaign_id).in_(campaign_ids))
        .group_by(col(OutboundMessage.campaign_id), col(OutboundMessage.status))
    ).all()
    for campaign_id, status, count in rows:
        if campaign_id is not None:
            figures[campaign_id][str(status)] = int(count)
    return figures


def grouped(figures: dict[str, int]) -> dict[str, int]:
    """A campaign's per-status counts folded into the list page's columns, plus the total."""
    out = {name: sum(figures.get(s.value, 0) for s in statuses) for name, statuses in DELIVERY_GROUPS.items()}
    out["total"] = sum(figures.values())
    return out


def enrolled_counts(*, session: Session, campaign_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """How many patients each campaign has enrolled."""
    if not campaign_ids:
        return {}
    rows = session.exec(
        select(Enrollment.campaign_id, func.count())
        .where(col(Enrollment.campaign_id).in_(campaign_ids))
        .group_by(col(Enrollment.campaign_id))
    ).all()
    return {campaign_id: int(count) for campaign_id, count in rows}
