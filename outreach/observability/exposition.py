"""Serving the metrics: all processes' samples (multiprocess mode) plus the database gauges.

`/metrics` is not public: with OUTREACH_METRICS_TOKEN set it needs `Authorization: Bearer <token>`;
without a token it answers only callers from OUTREACH_METRICS_ALLOW (loopback by default), so a
Prometheus on the same host or network namespace can scrape it and the internet cannot.
"""

from __future__ import annotations

import hmac
import ipaddress
import os

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess, start_http_server
from sqlalchemy.engine import Engine

from outreach.config import Settings
from outreach.observability.outbox import OutboxCollector


def allowed(settings: Settings, *, client_host: str | None, authorization: str) -> bool:
    """Whether this caller may read the metrics."""
    token = settings.metrics_token.get_secret_value()
    if token:
        presented = (
            authorization.removeprefix("Bearer ").strip() if authorization.startswith("Bearer ") else ""
        )
        return hmac.compare_digest(presented.encode(), token.encode())
    if not client_host:
        return False
    try:
        address = ipaddress.ip_address(client_host)
    except ValueError:
        return False
    return any(
        address in ipaddress.ip_network(net.strip(), strict=False)
        for net in settings.metrics_allow.split(",")
    )


def process_registry() -> CollectorRegistry:
    """Every process's samples when PROMETHEUS_MULTIPROC_DIR is set, else this process's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


def render(engine: Engine) -> bytes:
    """The exposition text: process metrics, then the gauges read from the database now."""
    database = CollectorRegistry(auto_describe=False)
    database.register(OutboxCollector(engine))
    return generate_latest(process_registry()) + generate_latest(database)


def serve_worker_metrics(settings: Settings) -> None:
    """A worker's own metrics on OUTREACH_METRICS_PORT (for workers on hosts without the API)."""
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr=settings.metrics_bind, registry=process_registry())
