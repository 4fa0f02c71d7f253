"""The process metrics (official `prometheus-client`), and the only places that label them.

Labels are closed sets chosen here: a task name, an outcome or status word, a Twilio error code, a
priority. Never a phone number, a body, a patient or message id, or anything a caller typed.

With several processes (server workers, Celery workers, beat) set PROMETHEUS_MULTIPROC_DIR, the
client's own setting, to one empty directory for all of them on a host, before they start: each writes
its samples there and `/metrics` adds them up (the client's multiprocess mode). Without it, `/metrics`
shows its own process only, and a worker can serve its own with OUTREACH_METRICS_PORT.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Histogram

SEND_SECONDS = Histogram(
    "outreach_gateway_send_seconds",
    "Time the gateway took to accept or refuse one text",
    ["gateway"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
GATEWAY_ERRORS = Counter(
    "outreach_gateway_errors_total",
    "Texts the gateway did not accept, by Twilio error code (or how the request failed when it gave none)",
    ["code"],
)
PACER_WAIT_SECONDS = Histogram(
    "outreach_pacer_wait_seconds",
    "Time a text waited for its sender's rate before going to the gateway",
    buckets=(0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
INBOUND_WEBHOOKS = Counter(
    "outreach_inbound_webhooks_total",
    "Inbound SMS webhooks by outcome (kind of text, or why refused)",
    ["outcome"],
)
INBOUND_SECONDS = Histogram(
    "outreach_inbound_webhook_seconds",
    "Time from an inbound webhook's arrival to its answer",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
CELERY_TASKS = Counter(
    "outreach_celery_tasks_total", "Celery tasks finished, by task name and outcome", ["task", "outcome"]
)


def gateway_error_code(code: int | None, *, retryable: bool, may_have_arrived: bool) -> str:
    """The `code` label: Twilio's numeric code, else whether the request could have arrived."""
    if code is not None:
        return str(int(code))
    if may_have_arrived:
        return "no_answer"
    return "not_arrived" if retryable else "refused"


@contextmanager
def timed(histogram: Histogram, *labels: str) -> Iterator[None]:
    """Observe how long the block took."""
    began = time.perf_counter()
    try:
        yield
    finally:
        (histogram.labels(*labels) if labels else histogram).observe(time.perf_counter() - began)
