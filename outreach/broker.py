"""The Celery broker connection, shared by the workers and the health check.

The embedded default uses kombu's filesystem transport: no server, real worker processes, the same
task code. Production uses Redis.
"""

from __future__ import annotations

from typing import Any

from kombu.connection import Connection

from outreach.config import Settings


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
