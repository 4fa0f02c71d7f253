"""The Celery broker connection, shared by the workers and the health check.

The embedded default uses kombu's filesystem transport: no server, real worker processes, the same
task code. Production uses Redis.
"""

from __future__ import annotations

from typing import Any

import redis
from kombu.connection import Connection

from outreach.config import ConfigError, Settings


def transport_options(settings: Settings) -> dict[str, Any]:
    """Broker transport options for the configured broker."""
    if settings.broker_url.startswith("filesystem://"):
        folder = settings.broker_folder
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        return {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
        }
    # Longer than any send can take, so Redis never hands a running task to a second worker.
    return {"visibility_timeout": 3600}


def broker_reachable(settings: Settings, *, timeout_s: float = 2.0) -> tuple[bool, str]:
    """Whether the broker answers, and a short reason when it does not."""
    try:
        with Connection(  # type: ignore[no-untyped-call]
            settings.broker_url, transport_options=transport_options(settings), connect_timeout=timeout_s
        ) as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout_s)
    except Exception as exc:  # any failure means "not reachable"; the reason is for the operator
        return False, type(exc).__name__
    return True, "ok"


def eviction_policy(url: str, *, timeout_s: float = 3.0) -> str:
    """Redis's maxmemory-policy, read from INFO (which works where CONFIG is disabled)."""
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s)
    try:
        return str(client.info("memory").get("maxmemory_policy", "noeviction"))
    finally:
        client.close()


def require_noeviction(settings: Settings) -> str | None:
    """Refuse an evicting Redis in production (ConfigError); in dev, return a warning line instead.

    An evicting Redis drops keys when it fills up, and a dropped key may be a queued task: a text that
    is never sent (or sent late, when the stranded row is requeued), or a pacing bucket reset early.
    """
    urls = {u for u in (settings.broker_url, settings.redis_url) if u.startswith(("redis://", "rediss://"))}
    for url in sorted(urls):
        try:
            policy = eviction_policy(url)
        except Exception as exc:  # unreachable now: Celery retries the connection and says so itself
            return f"could not read Redis's maxmemory-policy ({type(exc).__name__}); it must be noeviction"
        if policy != "noeviction":
            message = (
                f"Redis's maxmemory-policy is {policy}: an evicted task id is a lost text; "
                "set maxmemory-policy noeviction"
            )
            if settings.env == "production":
                raise ConfigError(message)
            return message
    return None
