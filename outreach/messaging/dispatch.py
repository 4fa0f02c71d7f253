"""What the workers run: the scheduler tick and the send of one text.

Per-process resources (engine, gateway, Redis) are built on first use, after Celery has forked.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from functools import lru_cache

import redis
from sqlmodel import Session

from outreach.config import Settings, get_settings
from outreach.db import engine_for, session_scope, utcnow
from outreach.messaging import reconcile as reconciling
from outreach.messaging import scheduler, sender
from outreach.messaging.pacing import GUARD_S, Pacer, default_rate
from outreach.observability import metrics
from outreach.senders import routing
from outreach.senders.routing import RoutingGateway, SenderBook
from outreach.sms.base import SmsGateway

log = logging.getLogger(__name__)

_TICK_LOCK = "outreach:lock:scheduler-tick"


@lru_cache(maxsize=1)
def _book() -> SenderBook:
    settings = get_settings()
    return SenderBook(settings=settings, engine=engine_for(settings.database_url))


@lru_cache(maxsize=1)
def _gateway() -> SmsGateway:
    return RoutingGateway(_book())  # each text through its own sender's gateway


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


Batch = list[tuple[uuid.UUID, int]]


def batch_size(settings: Settings) -> int:
    """Texts per send task of the deployment's own sender (see `rate_batch_size`)."""
    return rate_batch_size(settings.sender_rate_per_s or default_rate(settings.sender_type))


def rate_batch_size(rate: float) -> int:
    """Texts per send task: at most one second of the sender's budget, and never more than 50.

    One task per text made the broker and the bookkeeping cost more than the send itself; a task per
    second of budget keeps a slow sender (1/s long code) at one text per task, so no task holds a worker
    thread for long, and a fast one (short code) at up to 50.
    """
    return max(1, min(50, int(rate)))


def _enqueue_by_sender(
    session: Session, items: Batch, enqueue: Callable[[Batch, uuid.UUID | None], object]
) -> None:
    senders = routing.assign(session=session, ids=[mid for mid, _ in items])
    session.commit()  # the sender is on the row before any worker can take it
    book = _book()
    for sender_id, chunk in routing.by_sender(items, senders, lambda s: rate_batch_size(book.route(s).rate)):
        enqueue(chunk, sender_id)


def tick(*, enqueue: Callable[[Batch, uuid.UUID | None], object]) -> int:
    """Claim every due text in batches, enqueue their ids in send batches, tidy stranded rows."""
    settings = get_settings()
    engine = engine_for(settings.database_url)
    total = 0
    with _tick_lock(timeout_s=max(30, int(settings.scheduler_interval_s * 10))) as acquired:
        if not acquired:
            return 0
        with session_scope(engine) as session:
            now = utcnow()
            stale = timedelta(seconds=settings.stale_sending_after_s)
            scheduler.mark_stale_sending_unknown(session=session, now=now, older_than=stale)
            stranded = scheduler.requeue_stranded(
                session=session,
                now=now,
                older_than=timedelta(seconds=settings.requeue_after_s),
                limit=settings.claim_batch_size,
            )
        with session_scope(engine) as session:
            _enqueue_by_sender(session, stranded, enqueue)
        while True:
            with session_scope(engine) as session:
                ids = scheduler.claim_due(session=session, now=utcnow(), limit=settings.claim_batch_size)
                _enqueue_by_sender(session, ids, enqueue)
            total += len(ids)
            if len(ids) < settings.claim_batch_size:
                break
    if total:
        log.info("scheduler claimed %d texts", total)
    return total


def _policy() -> sender.SendPolicy:
    settings = get_settings()
    callback_base = settings.public_base_url if settings.gateway == "twilio" else None
    return sender.SendPolicy(max_attempts=settings.max_send_attempts, status_callback_base=callback_base)


class _LocalWindow:
    """The same sliding-window rule for one process: the embedded default runs a single worker."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(1, int(rate))
        self.starts: deque[float] = deque()
        self.lock = threading.Lock()

    def wait(self, cost: int) -> None:
        while True:
            with self.lock:
                now = time.monotonic()
                while self.starts and self.starts[0] <= now - (1.0 + GUARD_S):
                    self.starts.popleft()
                if len(self.starts) + cost <= max(self.capacity, cost):
                    self.starts.extend([now] * cost)
                    return
                delay = self.starts[0] + 1.0 + GUARD_S - now
            time.sleep(max(delay, 0.001))


_windows: dict[str, _LocalWindow] = {}
_windows_lock = threading.Lock()


def _pace(sender_id: uuid.UUID | None = None) -> sender.Pace:
    """Wait for a sender's budget: one Redis bucket per sender, shared by every worker."""
    route = _book().route(sender_id)
    client = _redis()
    if client is None:
        with _windows_lock:
            window = _windows.get(route.key)
            if window is None or window.rate != route.rate:
                window = _windows[route.key] = _LocalWindow(route.rate)
        local = window

        def wait_here(costs: Sequence[int]) -> int:
            with metrics.timed(metrics.PACER_WAIT_SECONDS):
                local.wait(costs[0])
            return 1  # the embedded default's senders are slow: one text at a time

        return wait_here
    pacer = _pacer(client)

    def wait(costs: Sequence[int]) -> int:
        count, waited = pacer.wait_group(route.key, rate=route.rate, costs=costs)
        metrics.PACER_WAIT_SECONDS.observe(waited)
        return count

    return wait


@lru_cache(maxsize=1)
def _pacer(client: redis.Redis) -> Pacer:
    return Pacer(client)


def sender_key(settings: Settings) -> str:
    """A stable id for the sending number or service, so all workers share one bucket (no phone numbers)."""
    return routing.deployment_key(settings)


def send_one(message_id: uuid.UUID, segments: int | None = None, sender_id: uuid.UUID | None = None) -> str:
    """Send one text through its sender's gateway, paced per sender."""
    return sender.send(
        engine=engine_for(get_settings().database_url),
        message_id=message_id,
        gateway=_gateway(),
        policy=_policy(),
        pace=_pace(sender_id),
        segments=segments,
    )


def send_batch(items: Batch, sender_id: uuid.UUID | None = None) -> dict[str, int]:
    """Send a batch of one sender's texts, each paced and taken just before it goes."""
    outcomes = sender.send_batch(
        engine=engine_for(get_settings().database_url),
        items=list(items),
        gateway=_gateway(),
        policy=_policy(),
        pace=_pace(sender_id),
    )
    return dict(outcomes)


def reconcile() -> dict[str, int]:
    """Settle texts whose outcome is unknown by asking the provider."""
    settings = get_settings()
    return reconciling.reconcile_unknown(
        engine=engine_for(settings.database_url),
        gateway=_gateway(),
        policy=_policy(),
        older_than=timedelta(seconds=settings.reconcile_after_s),
        limit=settings.claim_batch_size,
        now=utcnow(),
    )
