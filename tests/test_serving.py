"""`outreach serve --workers N`: the workers share a client's keep-alive connections, not one worker alone."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import pytest

from outreach.serving import serve
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[1]


async def which_process(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An ASGI app that answers with the id of the process that served the request."""
    body = str(os.getpid()).encode()
    headers = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _served_by(connections: list[HTTPConnection]) -> Counter[str]:
    """Which process answered each connection (every one connected before any request, as a pool does)."""
    for conn in connections:
        conn.connect()
    served: Counter[str] = Counter()
    for conn in connections:
        conn.request("GET", "/")
        served[conn.getresponse().read().decode()] += 1
    for conn in connections:
        conn.close()
    return served


@contextmanager
def two_workers(tmp_path: Path) -> Iterator[int]:
    """`serve` with two workers in a child process; yields its port once both workers answer."""
    port = free_port()
    code = (
        f"from outreach.serving import serve; serve('tests.test_serving:which_process', host='127.0.0.1', "
        f"port={port}, workers=2, lifespan='off', log_level='warning')"
    )
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for_workers(port, lambda pids: len(pids) == 2)
        yield port
    finally:
        proc.terminate()
        proc.wait(30)


def _wait_for_workers(port: int, enough: Callable[[set[str]], bool]) -> set[str]:
    """The worker processes seen answering, once `enough` of them have been seen."""
    deadline = time.monotonic() + 30
    seen: set[str] = set()
    while not enough(seen):
        assert time.monotonic() < deadline, f"the workers seen answering were only {seen}"
        try:
            seen |= set(_served_by([HTTPConnection("127.0.0.1", port, timeout=5) for _ in range(8)]))
        except OSError:
            time.sleep(0.2)
    return seen


def test_workers_share_a_clients_keep_alive_connections(tmp_path: Path) -> None:
    with two_workers(tmp_path) as port:
        served = _served_by([HTTPConnection("127.0.0.1", port, timeout=5) for _ in range(32)])

    assert len(served) == 2
    # An even hash puts fewer than 4 of 32 on one worker about once in 400,000 runs.
    assert min(served.values()) >= 4, served


def test_a_worker_that_dies_is_replaced_and_the_replacement_takes_connections(tmp_path: Path) -> None:
    with two_workers(tmp_path) as port:
        first = set(_served_by([HTTPConnection("127.0.0.1", port, timeout=5) for _ in range(32)]))
        dead = min(first)
        os.kill(int(dead), signal.SIGKILL)

        after = _wait_for_workers(port, lambda pids: len(pids - first) >= 1)

        assert dead not in _served_by([HTTPConnection("127.0.0.1", port, timeout=5) for _ in range(32)])
    assert len(after - first) == 1  # the replacement, on a listening socket of its own


def test_a_port_another_program_listens_on_stops_the_server_at_once() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit):
            serve("tests.test_serving:which_process", host="127.0.0.1", port=port, workers=2)
