"""Writing launched campaigns' texts to the outbox a window ahead of their time (a pipeline).

A pipeline because it owns its transactions: each chunk of rows is committed together with the launch
record's cursor and counters, so progress shows while it runs, a worker that stops resumes after the
last committed chunk, and no text is written twice. It runs in a worker (the `outreach.materialize`
beat task), never in a request.

What it promises:

* Windows are in target time (the moment a step means to fire, before quiet hours move it) and follow
  each other without gap or overlap; a window ends `lead` after now: the configured lookahead plus the
  clinic's quiet hours, because a reminder can move earlier by that much. So every text is in the outbox
  at least the lookahead before its time, and the first window also writes the sends already past (as
  skipped rows, the launch report's "past").
* A text is planned from the patient and visit as they are when its window is written: a STOP, a
  cancelled or moved visit that came before then is simply seen, and one that comes after finds a row
  (`changes.py` and the claim-time checks take it from there). The change paths lock the launch record,
  so they never interleave with a chunk.
* A visit that already has a live (not cancelled) row for a step is not given another one.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfoNotFoundError

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach.campaigns import timing, windows
from outreach.campaigns.launch import excluded_counts, write_rows
from outreach.campaigns.models import (
    Campaign,
    CampaignKind,
    CampaignLaunch,
    CampaignStatus,
    LaunchStatus,
)
from outreach.campaigns.planning import Planner, Recipient
from outreach.campaigns.service import PAUSED, get_steps
from outreach.clinics.models import Clinic
from outreach.db import session_scope
from outreach.journeys import series
from outreach.messaging.models import MessageStatus

log = logging.getLogger(__name__)

AHEAD = timedelta(hours=6)  # default lookahead: texts are in the outbox at least this long before their time
STRIDE = timedelta(hours=1)  # each window reaches this far past the lead, so windows come about hourly
CHUNK = 5_000
UNKNOWN_ZONE = "unknown_time_zone"  # excluded: a patient whose stored zone this system does not know


def lead(clinic: Clinic, ahead: timedelta) -> timedelta:
    """How far past now a window must reach: the lookahead, plus how early quiet hours can move a reminder."""
    if clinic.quiet_start == clinic.quiet_end:
        return ahead
    day = timedelta(days=1)
    start, end = (timedelta(hours=t.hour, minutes=t.minute) for t in (clinic.quiet_start, clinic.quiet_end))
    return ahead + (end - start) % day + timing.EARLY_MARGIN


def horizon(launch: CampaignLaunch) -> datetime | None:
    """Targets before this moment are written (or being written): a change path plans those itself."""
    return launch.window_until or launch.materialized_until


def lock_launch(session: Session, campaign_id: uuid.UUID) -> CampaignLaunch | None:
    """A campaign's launch record, share-locked until the transaction ends (None before launch).

    A change path holds it while it plans a visit: a chunk (which locks it for update) waits or skips,
    and change paths for different visits do not wait for each other.
    """
    query = select(CampaignLaunch).where(CampaignLaunch.campaign_id == campaign_id).with_for_update(read=True)
    return session.exec(query).first()


def _chunk(
    session: Session,
    launch: CampaignLaunch,
    campaign: Campaign,
    planner: Planner,
    window: windows.Window,
    chunk: int,
) -> tuple[Counter[str], int, bool]:
    """Write one chunk of the window; return (outcomes, recipients planned, whether more remain)."""
    reminder = campaign.kind == CampaignKind.REMINDER
    if campaign.anchor_event is not None:  # each patient's series from their own event
        return series.window_chunk(session, planner, window, chunk)
    if reminder:
        query = windows.visits(campaign, planner.steps, window, planner.now, chunk)
    elif any(windows.may_fire(campaign, s, launch.launched_at, window) for s in planner.steps):
        query = windows.patients(campaign, window, chunk)
    else:
        return Counter(), 0, False
    batch = [Recipient(*row) for row in session.connection().execute(query)]
    live = windows.live_rows(session, [who.appointment_id for who in batch if who.appointment_id is not None])
    paused = campaign.status == CampaignStatus.PAUSED

    unplanned: Counter[str] = Counter()

    def rows() -> Iterator[dict[str, Any]]:
        for who in batch:
            try:
                planned = list(planner.rows_between(who, window.start, window.end))
            except ZoneInfoNotFoundError:  # a zone stored before validation: one patient, not the launch
                unplanned[UNKNOWN_ZONE] += 1
                continue
            for row in planned:
                if (who.appointment_id, row["step_id"]) in live:
                    continue
                if paused and row["status"] == MessageStatus.SCHEDULED.value:
                    row.update(status=MessageStatus.HELD.value, error_reason=PAUSED)
                yield row

    tally = write_rows(session.connection(), rows())
    if unplanned:
        excluded = dict(launch.excluded)
        excluded[UNKNOWN_ZONE] = excluded.get(UNKNOWN_ZONE, 0) + unplanned[UNKNOWN_ZONE]
        launch.excluded = excluded
    if batch:
        last = batch[-1]
        launch.cursor = last.appointment_id if reminder else last.patient_id
        launch.cursor_at = last.starts_at if reminder else None
    return tally, len(batch), len(batch) == chunk


def _count(launch: CampaignLaunch, tally: Counter[str], planned: int) -> None:
    skipped = dict(launch.skipped)
    for outcome, count in tally.items():
        if outcome.startswith("skipped:"):
            reason = outcome.split(":", 1)[1]
            skipped[reason] = skipped.get(reason, 0) + count
    launch.skipped = skipped  # a new dict, so the JSON column is written
    launch.scheduled += tally[MessageStatus.SCHEDULED.value]
    launch.held += tally[MessageStatus.HELD.value]
    launch.rows_written += sum(tally.values())
    launch.patients_planned += planned


def write_chunk(
    session: Session,
    campaign_id: uuid.UUID,
    *,
    now: datetime,
    ahead: timedelta,
    chunk: int,
    planners: dict[uuid.UUID, Planner] | None = None,
) -> bool:
    """Write the next chunk of a campaign's current window (opening one when due); False when caught up.

    `planners` keeps a campaign's planner (and its caches of send times and texts) across the chunks
    of one run at one `now`.
    """
    mine = col(CampaignLaunch.campaign_id) == campaign_id
    if session.get_bind().dialect.name == "sqlite":
        # SQLite has no row locks and reads outside a transaction: a write first takes the database's
        # write lock, so another writer waits here and then reads where this chunk left off.
        session.execute(update(CampaignLaunch).where(mine).values(updated_at=CampaignLaunch.updated_at))
    launch = session.exec(select(CampaignLaunch).where(mine).with_for_update(skip_locked=True)).first()
    if launch is None or launch.status == LaunchStatus.DONE:
        return False
    campaign = session.get_one(Campaign, campaign_id)
    clinic = session.get_one(Clinic, campaign.clinic_id)
    steps = get_steps(session=session, campaign_id=campaign.id)
    if campaign.status == CampaignStatus.CANCELLED:
        launch.status, launch.updated_at = LaunchStatus.DONE, now
        session.add(launch)
        return False
    if launch.window_until is None:
        due = launch.materialized_until is None or launch.materialized_until < now + lead(clinic, ahead)
        if not due:
            return False
        launch.window_until = now + lead(clinic, ahead) + STRIDE
        if launch.status == LaunchStatus.QUEUED:
            launch.status = LaunchStatus.RUNNING
            launch.excluded = excluded_counts(session=session, campaign=campaign, now=now)
    window = windows.Window(launch.materialized_until, launch.window_until, launch.cursor, launch.cursor_at)
    planner = (planners or {}).get(campaign.id)
    if planner is None or planner.campaign.status != campaign.status:
        planner = Planner(
            clinic=clinic, campaign=campaign, steps=steps, now=now, launched_at=launch.launched_at
        )
        if planners is not None:
            planners[campaign.id] = planner
    tally, planned, more = _chunk(session, launch, campaign, planner, window, chunk)
    _count(launch, tally, planned)
    if not more:
        launch.materialized_until, launch.window_until = window.end, None
        launch.cursor, launch.cursor_at = None, None
        final = windows.last_target(campaign, steps, launch.launched_at)
        launch.status = LaunchStatus.DONE if final is not None and window.end > final else LaunchStatus.LIVE
    launch.updated_at = now
    session.add(launch)
    return True


def advance(
    *, engine: Engine, campaign_id: uuid.UUID, now: datetime, ahead: timedelta = AHEAD, chunk: int = CHUNK
) -> None:
    """Write a campaign's texts up to its window, a committed chunk at a time (another worker's: skipped)."""
    planners: dict[uuid.UUID, Planner] = {}
    while True:
        with session_scope(engine) as session:
            if not write_chunk(session, campaign_id, now=now, ahead=ahead, chunk=chunk, planners=planners):
                return


def pending(*, session: Session) -> list[uuid.UUID]:
    """Campaigns whose launch may have texts left to write."""
    query = select(CampaignLaunch.campaign_id).where(CampaignLaunch.status != LaunchStatus.DONE)
    return list(session.exec(query.order_by(col(CampaignLaunch.launched_at))))


def run(*, engine: Engine, now: datetime, ahead: timedelta = AHEAD, chunk: int = CHUNK) -> int:
    """Advance every launched campaign's window; return how many campaigns were looked at."""
    with session_scope(engine) as session:
        campaigns = pending(session=session)
    for campaign_id in campaigns:
        advance(engine=engine, campaign_id=campaign_id, now=now, ahead=ahead, chunk=chunk)
    return len(campaigns)
