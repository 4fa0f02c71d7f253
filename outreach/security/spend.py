"""The daily spend cap: a clinic's texts claimed past its segments for the day are held, not sent.

Counted at claim time, in the clinic's own calendar day, so no schedule can outrun it. A held text says
why (`error_reason = daily_spend_cap`); an admin sees the count and can release them, which raises that
day's allowance by what they release (and is audited). Replies in a coordinator's conversation are
counted but never held: a conversation does not stop halfway. A retried text counts again: the cap is
on what may be spent, so it errs on the side of holding.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from outreach.clinics.models import Clinic
from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.security.models import DailySpend
from outreach.security.policy import policy_for

SPEND_CAP = "daily_spend_cap"


def local_day(clinic: Clinic, now: datetime) -> date:
    """The clinic's calendar day at `now`."""
    try:
        return now.astimezone(ZoneInfo(clinic.timezone)).date()
    except (KeyError, ValueError):
        return now.date()


def _spend(session: Session, clinic_id: uuid.UUID, day: date) -> DailySpend:
    row = session.get(DailySpend, (clinic_id, day))
    if row is None:
        row = DailySpend(clinic_id=clinic_id, day=day)
        session.add(row)
    return row


def hold_over_cap(
    *, session: Session, claimed: list[tuple[uuid.UUID, int]], now: datetime
) -> list[tuple[uuid.UUID, int]]:
    """The claimed texts that fit their clinic's cap; the rest are put on hold with the reason."""
    if not claimed:
        return claimed
    segments_of = dict(claimed)
    rows = session.execute(
        select(col(OutboundMessage.id), col(OutboundMessage.clinic_id), col(OutboundMessage.kind))
        .where(col(OutboundMessage.id).in_(list(segments_of)))
        .order_by(col(OutboundMessage.send_at), col(OutboundMessage.id))  # the earliest texts go first
    ).all()
    by_clinic: dict[uuid.UUID, list[tuple[uuid.UUID, int, str]]] = defaultdict(list)
    for mid, clinic_id, kind in rows:
        by_clinic[clinic_id].append((mid, segments_of[mid], kind))
    held: set[uuid.UUID] = set()
    for clinic_id, texts in by_clinic.items():
        held |= _apply_cap(session=session, clinic_id=clinic_id, texts=texts, now=now)
    if held:
        session.execute(
            update(OutboundMessage)
            .where(col(OutboundMessage.id).in_(held))
            .values(status=MessageStatus.HELD, error_reason=SPEND_CAP, updated_at=now)
        )
    return [(mid, segments) for mid, segments in claimed if mid not in held]


def _apply_cap(
    *, session: Session, clinic_id: uuid.UUID, texts: list[tuple[uuid.UUID, int, str]], now: datetime
) -> set[uuid.UUID]:
    clinic = session.get(Clinic, clinic_id)
    if clinic is None:
        return set()
    cap = policy_for(session=session, clinic_id=clinic_id).daily_segment_cap
    spend = _spend(session, clinic_id, local_day(clinic, now))
    room = cap + spend.released_segments - spend.claimed_segments
    held: set[uuid.UUID] = set()
    for mid, segments, kind in texts:
        if kind != "reply" and segments > room:
            held.add(mid)
            continue
        room -= segments
        spend.claimed_segments += segments
    session.add(spend)
    return held


def today(*, session: Session, clinic: Clinic, now: datetime) -> dict[str, object]:
    """The clinic's cap, what is claimed and released today, and what waits on hold."""
    cap = policy_for(session=session, clinic_id=clinic.id).daily_segment_cap
    day = local_day(clinic, now)
    spend = session.get(DailySpend, (clinic.id, day)) or DailySpend(clinic_id=clinic.id, day=day)
    texts, segments = session.execute(
        select(func.count(), func.coalesce(func.sum(OutboundMessage.segments), 0)).where(
            OutboundMessage.clinic_id == clinic.id,
            col(OutboundMessage.status) == MessageStatus.HELD,
            OutboundMessage.error_reason == SPEND_CAP,
        )
    ).one()
    return {
        "day": day,
        "daily_segment_cap": cap,
        "claimed_segments": spend.claimed_segments,
        "released_segments": spend.released_segments,
        "held_texts": int(texts),
        "held_segments": int(segments),
    }


def release_held(*, session: Session, clinic: Clinic, now: datetime) -> tuple[int, int]:
    """Send the clinic's held texts after all: (texts, segments) released into today's allowance."""
    held = session.execute(
        select(col(OutboundMessage.id), col(OutboundMessage.segments)).where(
            OutboundMessage.clinic_id == clinic.id,
            col(OutboundMessage.status) == MessageStatus.HELD,
            OutboundMessage.error_reason == SPEND_CAP,
        )
    ).all()
    if not held:
        return 0, 0
    segments = sum(int(s) for _, s in held)
    spend = _spend(session, clinic.id, local_day(clinic, now))
    spend.released_segments += segments
    session.add(spend)
    session.execute(
        update(OutboundMessage)
        .where(col(OutboundMessage.id).in_([mid for mid, _ in held]))
        .values(status=MessageStatus.SCHEDULED, error_reason=None, updated_at=now)
    )
    return len(held), segments


def over_cap(*, session: Session, clinic: Clinic, segments_per_day: dict[str, int]) -> dict[str, int]:
    """For a dry run: the days (clinic-local ISO dates) whose segments exceed the cap, and by how much."""
    cap = policy_for(session=session, clinic_id=clinic.id).daily_segment_cap
    return {day: used - cap for day, used in sorted(segments_per_day.items()) if used > cap}
