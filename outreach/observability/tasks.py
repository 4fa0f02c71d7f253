"""Celery task outcomes as a counter, from Celery's own signals (no task arguments are read)."""

from __future__ import annotations

from typing import Any

from celery import signals

from outreach.observability.metrics import CELERY_TASKS


def _finished(task: Any = None, state: str | None = None, **_: Any) -> None:
    name = str(getattr(task, "name", "unknown"))
    CELERY_TASKS.labels(name, (state or "unknown").lower()).inc()


def install() -> None:
    """Count every task that finishes, by its name and final state (success, failure, retry...)."""
    signals.task_postrun.connect(_finished, weak=False, dispatch_uid="outreach-task-metrics")
