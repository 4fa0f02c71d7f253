"""Real worker and scheduler processes for end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def outreach_env(*, database_url: str, broker_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for an outreach process, free of the caller's OUTREACH_* settings but for the test
    keyring of phone numbers (the process reads what the test wrote)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    env.update(
        OUTREACH_PHI_KEYS=os.environ["OUTREACH_PHI_KEYS"],
        OUTREACH_PHI_INDEX_KEYS=os.environ["OUTREACH_PHI_INDEX_KEYS"],
        OUTREACH_DATABASE_URL=database_url,
        OUTREACH_BROKER_URL=broker_url,
        OUTREACH_DATA_DIR=str(data_dir),
        OUTREACH_SCHEDULER_INTERVAL_S="0.5",
        **extra,
    )
    return env


@contextmanager
def running(
    commands: dict[str, list[str]], env: dict[str, str], logs: Path
) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    """Start `python -m outreach <args>` processes; stop them (SIGTERM, then SIGKILL) afterwards."""
    logs.mkdir(parents=True, exist_ok=True)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, args in commands.items():
            out = (logs / f"{name}.log").open("wb")
            procs[name] = subprocess.Popen(
                [sys.executable, "-m", "outreach", *args], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        yield procs
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_for(predicate: Callable[[], bool], *, timeout_s: float, what: str) -> None:
    """Poll until the predicate holds, or fail saying what never happened."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
