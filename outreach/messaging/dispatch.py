"""What the workers run: the scheduler tick and the send of one text.

Per-process resources (engine, gateway, Redis) are built on first use, after Celery has forked.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import lru_cache

import redis

from outreach.config import get_settings
from outreach.db import engine_for, session_scope, utcnow
from outreach.messaging import service
from outreach.sms.base import SmsGateway
from outreach.sms.factory import build_gateway

log = logging.getLogger(__name__)

STRANDED_AFTER = timedelta(minutes=2)
_TICK_LOCK = "outreach:lock:scheduler-tick"


@lru_cache(maxsize=1)
def _gateway() -> SmsGateway:
    settings = get_settings()
    return build_gateway(settings=settings, engine=engine_for(settings.database_url))


@lru_cache(maxsize=1)
def _redis() -> redis.Redis | None:
    url = get_settings().redis_url
    return redis.Redis.from_url(url) if url else None


@contextmanager
def _tick_lock(timeout_s: int) -> Iterator[bool]:
    # Claims are atomic in the database, so overlap would be safe; the lock just avoids wasted work.
    # Without Redis (embedded default) there is one beat process and SQLite serialises writers.
    client = _redis()
    if client is None:
        yield True
        return
    lock = client.lock(_TICK_LOCK, timeout=timeout_s, blocking=False)
    acquired = bool(lock.acquire(blocking=False))
    try:
        yield acquired
    finally:
        if acquired:
            lock.release()


def tick(*, enqueue: Callable[[uuid.UUID], object]) -> int:
    """Claim every due text in batches, enqueue each id, and tidy stranded rows; return how many."""
    settings = get_settings()
    engine = engine_for(settings.database_url)
    total = 0
    with _tick_lock(timeout_s=max(30, int(settings.scheduler_interval_s * 10))) as acquired:
        if not acquired:
            return 0
        with session_scope(engine) as session:
            now = utcnow()
            stale = timedelta(seconds=settings.stale_sending_after_s)
            service.mark_stale_sending_unknown(session=session, now=now, older_than=stale)
            stranded = service.requeue_stranded(
                session=session, now=now, older_than=STRANDED_AFTER, limit=settings.claim_batch_size
            )
        for message_id in stranded:
            enqueue(message_id)
        while True:
            with session_scope(engine) as session:
                ids = service.claim_due(session=session, now=utcnow(), limit=settings.claim_batch_size)
            for message_id in ids:
                enqueue(message_id)
            total += len(ids)
            if len(ids) < settings.claim_batch_size:
                break
    if total:
        log.info("scheduler claimed %d texts", total)
    return total


def send_one(message_id: uuid.UUID) -> str:
    """Send one text through the configured gateway."""
    settings = get_settings()
    callback_base = settings.public_base_url if settings.gateway == "twilio" else None
    policy = service.SendPolicy(max_attempts=settings.max_send_attempts, status_callback_base=callback_base)
    return service.send(
        engine=engine_for(settings.database_url), message_id=message_id, gateway=_gateway(), policy=policy
    )
