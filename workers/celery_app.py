"""The one Celery app. Tasks carry message ids only: no phone numbers or bodies in the broker."""

from __future__ import annotations

import logging

from celery import Celery, signals

from outreach.broker import transport_options
from outreach.config import get_settings
from outreach.observability import logs
from outreach.observability import tasks as tasks_metrics

SCHEDULE_QUEUE = "schedule"
SEND_QUEUE = "send"
MATERIALIZE_EVERY_S = 2.0
JOURNEYS_EVERY_S = 300.0  # call tasks for silent journeys: minutes matter little against a 24-hour grace
REPORT_SUMMARIES_EVERY_S = 300.0  # a large campaign's report, as of at most about this long ago


def make_app() -> Celery:
    """Build the Celery app from outreach settings."""
    settings = get_settings()
    app = Celery("outreach", broker=settings.broker_url, include=["workers.tasks"])
    app.conf.update(
        broker_transport_options=transport_options(settings),
        broker_connection_retry_on_startup=True,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,  # a killed worker's task comes back; the outbox row says if it ran
        worker_prefetch_multiplier=4,
        task_serializer="json",
        accept_content=["json"],
        task_default_queue=SEND_QUEUE,
        task_routes={
            "outreach.scheduler_tick": {"queue": SCHEDULE_QUEUE},
            "outreach.reconcile": {"queue": SCHEDULE_QUEUE},
            "outreach.fhir_sync": {"queue": SCHEDULE_QUEUE},
            "outreach.materialize": {"queue": SCHEDULE_QUEUE},
            "outreach.journeys": {"queue": SCHEDULE_QUEUE},
            "outreach.retention": {"queue": SCHEDULE_QUEUE},
            "outreach.report_summaries": {"queue": SCHEDULE_QUEUE},
            "sms.send": {"queue": SEND_QUEUE},
            "sms.send_batch": {"queue": SEND_QUEUE},
        },
        beat_schedule={
            "scheduler-tick": {
                "task": "outreach.scheduler_tick",
                "schedule": settings.scheduler_interval_s,
                "options": {"expires": settings.scheduler_interval_s * 2},
            },
            "fhir-sync": {"task": "outreach.fhir_sync", "schedule": 900.0, "options": {"expires": 600}},
            # A launch's first window starts within seconds; later windows come about hourly.
            "materialize-launches": {
                "task": "outreach.materialize",
                "schedule": max(settings.scheduler_interval_s, MATERIALIZE_EVERY_S),
                "options": {"expires": max(settings.scheduler_interval_s, MATERIALIZE_EVERY_S) * 2},
            },
            "journeys-follow-through": {
                "task": "outreach.journeys",
                "schedule": JOURNEYS_EVERY_S,
                "options": {"expires": JOURNEYS_EVERY_S * 2},
            },
            "reconcile-unknown": {
                "task": "outreach.reconcile",
                "schedule": max(5.0, settings.reconcile_after_s / 4),
                "options": {"expires": 60},
            },
            "retention": {"task": "outreach.retention", "schedule": 3600.0, "options": {"expires": 3600}},
            "report-summaries": {
                "task": "outreach.report_summaries",
                "schedule": REPORT_SUMMARIES_EVERY_S,
                "options": {"expires": REPORT_SUMMARIES_EVERY_S * 2},
            },
        },
        worker_hijack_root_logger=False,
        timezone="UTC",
    )
    return app


app = make_app()
tasks_metrics.install()
logs.install_celery(get_settings())


@signals.after_setup_logger.connect
def _quiet_per_task_lines(**_: object) -> None:
    # One "received"/"succeeded" line per text costs more than the send itself at volume (log lock
    # contention across sender threads); failures still log at WARNING and above.
    logging.getLogger("celery.app.trace").setLevel(logging.WARNING)
    logging.getLogger("celery.worker.strategy").setLevel(logging.WARNING)
