"""Thin tasks: take ids, call outreach services."""

from __future__ import annotations

from uuid import UUID

from outreach.messaging import dispatch
from workers.celery_app import SEND_QUEUE, app


@app.task(name="outreach.scheduler_tick", ignore_result=True)
def scheduler_tick() -> int:
    """Claim due texts and hand their ids to the senders."""
    return dispatch.tick(
        enqueue=lambda mid, segments: send_sms.apply_async((str(mid), segments), queue=SEND_QUEUE)
    )


@app.task(name="outreach.reconcile", ignore_result=True)
def reconcile() -> dict[str, int]:
    """Ask the provider about texts whose outcome we never heard."""
    return dispatch.reconcile()


@app.task(name="sms.send", acks_late=True, ignore_result=True)
def send_sms(message_id: str, segments: int | None = None) -> str:
    """Send one text at most once (the segment count lets the pacer skip a database read)."""
    return dispatch.send_one(UUID(message_id), segments)
