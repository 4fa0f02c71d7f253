"""Metrics read from the database at scrape time: the outbox by status, the backlog, the reply queue.

They describe the shared record, not one process, so they are computed once per scrape by the process
that serves `/metrics` (GROUP BY in the database) rather than counted in each worker.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlalchemy import select as core_select
from sqlalchemy.engine import Engine
from sqlmodel import col

from outreach.db import utcnow
from outreach.inbox.models import Thread, ThreadStatus
from outreach.messaging.models import MessageStatus, OutboundMessage

_BY_STATUS = core_select(
    col(OutboundMessage.status), col(OutboundMessage.kind), col(OutboundMessage.language), func.count()
).group_by(col(OutboundMessage.status), col(OutboundMessage.kind), col(OutboundMessage.language))
_QUEUE = (
    core_select(col(Thread.priority), func.count())
    .where(col(Thread.status).in_([ThreadStatus.OPEN.value, ThreadStatus.CLAIMED.value]))
    .group_by(col(Thread.priority))
)


_DUE = (col(OutboundMessage.status) == MessageStatus.SCHEDULED.value,)


class OutboxCollector(Collector):
    """Gauges computed from the outbox and the reply queue on each scrape."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """One query per family; labels are status, kind and language tags, and priorities."""
        texts = GaugeMetricFamily(
            "outreach_texts",
            "Texts in the outbox by status, kind and language used",
            labels=["status", "kind", "language"],
        )
        due = GaugeMetricFamily(
            "outreach_due_unclaimed_texts", "Texts due to go out that no scheduler has claimed yet"
        )
        age = GaugeMetricFamily(
            "outreach_due_unclaimed_oldest_age_seconds",
            "How long the oldest due, unclaimed text has been due",
        )
        queue = GaugeMetricFamily(
            "outreach_coordinator_queue_threads",
            "Open and claimed reply threads by priority",
            labels=["priority"],
        )
        now = utcnow()
        with self.engine.connect() as conn:
            for status, kind, language, count in conn.execute(_BY_STATUS):
                texts.add_metric([str(status), str(kind), str(language)], count)
            backlog = core_select(func.count(), func.min(col(OutboundMessage.send_at)))
            count, oldest = conn.execute(backlog.where(*_DUE, col(OutboundMessage.send_at) <= now)).one()
            for priority, threads in conn.execute(_QUEUE):
                queue.add_metric([str(priority)], threads)
        due.add_metric([], count)
        if oldest is not None and oldest.tzinfo is None:  # SQLite keeps no offset: stored as UTC
            oldest = oldest.replace(tzinfo=now.tzinfo)
        age.add_metric([], max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        yield from (texts, due, age, queue)
