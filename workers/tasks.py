"""Thin tasks: take ids, call outreach services."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from outreach.campaigns import materialize as materializer
from outreach.config import get_settings
from outreach.db import engine_for, session_scope, utcnow
from outreach.fhir.periodic import sync_and_write_back
from outreach.journeys import follow as journeys_follow
from outreach.messaging import dispatch
from outreach.reports.periodic import refresh_campaigns
from outreach.security.retention import purge
from workers.celery_app import SEND_QUEUE, app


@app.task(name="outreach.scheduler_tick", ignore_result=True)
def scheduler_tick() -> int:
    """Claim due texts and hand their ids to the senders."""
    return dispatch.tick(enqueue=_enqueue)


def _enqueue(batch: dispatch.Batch, sender_id: UUID | None) -> None:
    # Ids and segment counts only: no phone number or text ever goes through the broker.
    ids, segments = [str(mid) for mid, _ in batch], [count for _, count in batch]
    send_batch.apply_async((ids, segments, str(sender_id) if sender_id else None), queue=SEND_QUEUE)


@app.task(name="outreach.materialize", ignore_result=True)
def materialize() -> int:
    """Write launched campaigns' texts to the outbox a window ahead of their time."""
    settings = get_settings()
    ahead = timedelta(seconds=settings.materialize_ahead_s)
    return materializer.run(engine=engine_for(settings.database_url), now=utcnow(), ahead=ahead)


@app.task(name="outreach.journeys", ignore_result=True)
def follow_journeys() -> dict[str, int]:
    """End journeys of patients who opted out; put call tasks in the queue for unanswered check-ins."""
    return journeys_follow.run(engine=engine_for(get_settings().database_url), now=utcnow())


@app.task(name="outreach.reconcile", ignore_result=True)
def reconcile() -> dict[str, int]:
    """Ask the provider about texts whose outcome we never heard."""
    return dispatch.reconcile()


@app.task(name="sms.send", acks_late=True, ignore_result=True)
def send_sms(message_id: str, segments: int | None = None) -> str:
    """Send one text at most once (the segment count lets the pacer skip a database read)."""
    return dispatch.send_one(UUID(message_id), segments)


@app.task(name="sms.send_batch", acks_late=True, ignore_result=True)
def send_batch(message_ids: list[str], segments: list[int], sender_id: str | None = None) -> dict[str, int]:
    """Send several texts of one sender, each at most once; a redelivered batch skips the ones taken."""
    items = [(UUID(mid), count) for mid, count in zip(message_ids, segments, strict=True)]
    return dispatch.send_batch(items, UUID(sender_id) if sender_id else None)


@app.task(name="outreach.fhir_sync", ignore_result=True)
def fhir_sync() -> int:
    """Sync every clinic with a FHIR server (each under its own lock), then write back what is due."""
    return sync_and_write_back()


@app.task(name="outreach.retention", ignore_result=True)
def retention() -> dict[str, int]:
    """Remove the words of texts older than each clinic's retention period (the outcomes stay)."""
    with session_scope(engine_for(get_settings().database_url)) as session:
        return purge(session=session, now=utcnow())


@app.task(name="outreach.report_summaries", ignore_result=True)
def report_summaries() -> dict[str, int]:
    """Bring each large campaign's stored report summary up to date with its texts and replies."""
    settings = get_settings()
    return refresh_campaigns(
        engine=engine_for(settings.database_url), now=utcnow(), reply_days=settings.report_reply_days
    )
