"""Reliability with real worker processes on PostgreSQL and Redis: never twice, nothing lost.

The simulator gateway stores every request it receives in `simulated_sms`, so counting its rows per
message counts gateway requests exactly.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach.db import engine_for
from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.sms.models import SimulatedSms
from tests.conftest import _truncate_all
from tests.factories import create_clinic, seed_due_texts
from tests.processes import outreach_env, running, wait_for

pytestmark = pytest.mark.slow

DONE = {MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.FAILED, MessageStatus.UNKNOWN}


@pytest.fixture
def pg_redis(pg_database: str, redis_url: str) -> Iterator[tuple[Engine, str]]:
    """An emptied PostgreSQL database and Redis db for a run with real workers."""
    engine = engine_for(pg_database)
    _truncate_all(engine)
    redis.Redis.from_url(redis_url).flushdb()
    yield engine, redis_url
    redis.Redis.from_url(redis_url).flushdb()


def _env(engine: Engine, broker: str, tmp_path: Path) -> dict[str, str]:
    return outreach_env(
        database_url=engine.url.render_as_string(hide_password=False),
        broker_url=broker,
        data_dir=tmp_path / "var",
        OUTREACH_SENDER_RATE_PER_S="10000",
        OUTREACH_STALE_SENDING_AFTER_S="2",
        OUTREACH_RECONCILE_AFTER_S="2",
        OUTREACH_REQUEUE_AFTER_S="3",
    )


def _requests_per_message(engine: Engine) -> dict[uuid.UUID, int]:
    with Session(engine) as session:
        rows = session.exec(
            select(SimulatedSms.message_id, func.count()).group_by(col(SimulatedSms.message_id))
        )
        return dict(rows.all())


def _statuses(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        rows = session.exec(
            select(OutboundMessage.status, func.count()).group_by(col(OutboundMessage.status))
        )
        return {str(status): count for status, count in rows.all()}


def _all_done(engine: Engine, total: int) -> bool:
    counts = _statuses(engine)
    return sum(counts.get(s.value, 0) for s in (MessageStatus.SENT, MessageStatus.DELIVERED)) == total


def _reached(engine: Engine, count: int) -> Callable[[], bool]:
    return lambda: sum(_requests_per_message(engine).values()) >= count


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "outreach", "worker", "--concurrency", "16"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def test_kill_9_mid_run_sends_each_text_at_most_once_and_loses_none(
    pg_redis: tuple[Engine, str], tmp_path: Path
) -> None:
    engine, broker = pg_redis
    ids = seed_due_texts(engine, create_clinic(engine), patients=200, per_patient=10)
    env = _env(engine, broker, tmp_path)
    logs = tmp_path / "logs"
    with running({"scheduler": ["scheduler"]}, env, logs):
        for kill_after in (150, 700, 1300):
            worker = _worker(env, tmp_path / "worker.log")
            wait_for(
                _reached(engine, kill_after), timeout_s=120, what=f"{kill_after} texts to reach the gateway"
            )
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait()
        with running({"worker": ["worker", "--concurrency", "16"]}, env, logs):
            wait_for(lambda: _all_done(engine, len(ids)), timeout_s=180, what="every text to settle")
    per_message = _requests_per_message(engine)
    assert max(per_message.values()) == 1, "a text reached the gateway twice"
    assert set(per_message) == set(ids), "a text never reached the gateway"


def test_same_text_enqueued_three_times_to_two_workers_sends_once(
    pg_redis: tuple[Engine, str], tmp_path: Path
) -> None:
    engine, broker = pg_redis
    [message_id] = seed_due_texts(engine, create_clinic(engine), patients=1, per_patient=1)
    with Session(engine) as session:
        row = session.get(OutboundMessage, message_id)
        assert row is not None
        row.status = MessageStatus.QUEUED
        session.add(row)
        session.commit()
    env = _env(engine, broker, tmp_path)
    script = (
        "from workers.tasks import send_sms\n"
        f"for _ in range(3): send_sms.apply_async(('{message_id}',), queue='send')\n"
    )
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=60)
    commands = {"worker-a": ["worker", "--concurrency", "4"], "worker-b": ["worker", "--concurrency", "4"]}
    with running(commands, env, tmp_path / "logs"):
        wait_for(lambda: _all_done(engine, 1), timeout_s=60, what="the text to be sent")
        time.sleep(2)  # give the duplicate deliveries time to run
        assert redis.Redis.from_url(broker).llen("send") == 0
    assert _requests_per_message(engine) == {message_id: 1}


def test_redis_flushed_mid_run_loses_nothing(pg_redis: tuple[Engine, str], tmp_path: Path) -> None:
    engine, broker = pg_redis
    ids = seed_due_texts(engine, create_clinic(engine), patients=50, per_patient=10)
    env = {**_env(engine, broker, tmp_path), "OUTREACH_SENDER_RATE_PER_S": "150"}
    with running(
        {"worker": ["worker", "--concurrency", "8"], "scheduler": ["scheduler"]}, env, tmp_path / "logs"
    ):
        wait_for(lambda: sum(_requests_per_message(engine).values()) >= 50, timeout_s=60, what="50 sends")
        redis.Redis.from_url(broker).flushdb()
        wait_for(lambda: _all_done(engine, len(ids)), timeout_s=120, what="every text to settle")
    per_message = _requests_per_message(engine)
    assert set(per_message) == set(ids)
    assert max(per_message.values()) == 1


def _readable(raw: bytes) -> list[bytes]:
    """A Redis value, plus the decoded body when it is a kombu message envelope (bodies are base64)."""
    out = [raw]
    try:
        envelope = json.loads(raw)
        if isinstance(envelope, list):  # unacked entries are [message, exchange, routing_key]
            envelope = envelope[0]
        out.append(base64.b64decode(envelope["body"]))
    except (ValueError, KeyError, TypeError, IndexError):
        pass
    return out


def _as_bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def _redis_contents(client: redis.Redis) -> list[bytes]:
    seen: list[bytes] = []
    for key in map(_as_bytes, client.keys("*")):
        seen.append(key)
        kind = client.type(key)
        if kind == b"list":
            values = client.lrange(key, 0, -1)
        elif kind == b"hash":
            values = list(client.hgetall(key).values())
        elif kind == b"string":
            values = [client.get(key) or b""]
        else:
            values = []
        for value in values:
            seen.extend(_readable(_as_bytes(value)))
    return seen


def test_no_phone_number_or_body_in_redis(pg_redis: tuple[Engine, str], tmp_path: Path) -> None:
    engine, broker = pg_redis
    ids = seed_due_texts(engine, create_clinic(engine), patients=20, per_patient=5)
    env = {**_env(engine, broker, tmp_path), "OUTREACH_SENDER_RATE_PER_S": "40"}
    client = redis.Redis.from_url(broker)
    seen: list[bytes] = []
    with running(
        {"worker": ["worker", "--concurrency", "4"], "scheduler": ["scheduler"]}, env, tmp_path / "logs"
    ):
        deadline = time.monotonic() + 60
        while not _all_done(engine, len(ids)) and time.monotonic() < deadline:
            seen.extend(_redis_contents(client))
            time.sleep(0.05)
    assert _all_done(engine, len(ids))
    blob = b"\n".join(seen)
    assert str(ids[-1]).encode() in blob, "the probe never saw a task; it could not have caught a leak"
    assert b"+1202555" not in blob
    assert b"Reminder" not in blob
