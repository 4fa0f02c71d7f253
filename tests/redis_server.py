"""A Redis server of a test's own (a real redis-server process), which the test may stop and start again.

The machine's shared Redis must never be stopped or reconfigured by a test; this one lives in the test's
temporary directory, on a free port, with its own append-only file so its data survive a restart.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from tests.servers import free_port


class RedisServer:
    """One redis-server process; `restart()` stops it (SHUTDOWN, as a restart does) and starts it again."""

    def __init__(self, folder: Path, *args: str) -> None:
        self.folder = folder
        self.port = free_port()
        self.args = args
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
            "--appendonly", "yes", "--appendfsync", "always", "--save", "", *self.args,
        ]  # fmt: skip
        log = (self.folder / "redis.log").open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping():
                    return
            except redis.RedisError:
                time.sleep(0.1)
        raise AssertionError(f"redis-server on port {self.port} did not start")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()  # SIGTERM: Redis flushes its append-only file and exits
        self.process.wait(timeout=20)
        self.process = None

    def restart(self, down_s: float = 0.0) -> None:
        self.stop()
        time.sleep(down_s)
        self.start()


@contextmanager
def redis_server(folder: Path, *args: str) -> Iterator[RedisServer]:
    """A running Redis of the test's own; skipped when redis-server is not installed."""
    if shutil.which("redis-server") is None:
        pytest.skip("!!! redis-server is not installed: these tests do not run")
    folder.mkdir(parents=True, exist_ok=True)
    server = RedisServer(folder, *args)
    server.start()
    try:
        yield server
    finally:
        server.stop()
