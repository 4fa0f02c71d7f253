"""Operations with real processes: a worker stopped mid-batch, the Redis server restarted mid-run, and
per-sender pacing shared by two workers. Nothing lost, nothing sent twice.

The simulator gateway stores every request it receives in `simulated_sms`, so counting its rows per
message counts gateway requests exactly.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach.config import Settings
from outreach.db import engine_for
from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.sms.models import SimulatedSms
from tests.conftest import _truncate_all
from tests.factories import create_clinic, seed_due_texts
from tests.processes import outreach_env, running, wait_for
from tests.redis_server import redis_server
from tests.senders.support import create_sender

pytestmark = pytest.mark.slow


@pytest.fixture
def database(pg_database: str) -> Engine:
    engine = engine_for(pg_database)
    _truncate_all(engine)
    return engine


def _env(engine: Engine, broker: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return outreach_env(
        database_url=engine.url.render_as_string(hide_password=False),
        broker_url=broker,
        data_dir=tmp_path / "var",
        OUTREACH_STALE_SENDING_AFTER_S="5",
        OUTREACH_RECONCILE_AFTER_S="5",
        OUTREACH_REQUEUE_AFTER_S="3",
        **extra,
    )


def _requests(engine: Engine) -> dict[uuid.UUID, int]:
    with Session(engine) as session:
        rows = session.exec(
            select(SimulatedSms.message_id, func.count()).group_by(col(SimulatedSms.message_id))
        )
        return dict(rows.all())


def _statuses(engine: Engine) -> Counter[str]:
    with Session(engine) as session:
        rows = session.exec(
            select(OutboundMessage.status, func.count()).group_by(col(OutboundMessage.status))
        )
        return Counter({str(status): count for status, count in rows.all()})


def _sent(engine: Engine) -> int:
    counts = _statuses(engine)
    return counts[MessageStatus.SENT.value] + counts[MessageStatus.DELIVERED.value]


def _worker(env: dict[str, str], log: Path, concurrency: int = 8) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "outreach", "worker", "--concurrency", str(concurrency)],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


@pytest.fixture
def shared_redis(redis_url: str) -> Iterator[str]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield redis_url
    client.flushdb()


def test_sigterm_mid_batch_finishes_the_batch_in_hand_and_loses_nothing(
    database: Engine, shared_redis: str, tmp_path: Path
) -> None:
    # 20 segments a second: each send task is a batch of 20 texts that takes about a second.
    ids = seed_due_texts(database, create_clinic(database), patients=60, per_patient=5)
    env = _env(database, shared_redis, tmp_path, OUTREACH_SENDER_RATE_PER_S="20", OUTREACH_LOG_FORMAT="json")
    log = tmp_path / "worker.log"
    with running({"scheduler": ["scheduler"]}, env, tmp_path / "logs"):
        worker = _worker(env, log)
        wait_for(lambda: sum(_requests(database).values()) >= 30, timeout_s=90, what="30 texts to go out")
        worker.send_signal(signal.SIGTERM)  # in the middle of a batch: one goes out every 50 ms
        assert worker.wait(timeout=60) == 0, "the worker did not shut down warmly"
        stopped_at = _statuses(database)
        assert stopped_at[MessageStatus.SENDING.value] == 0, "a text was left mid-send"
        assert stopped_at[MessageStatus.UNKNOWN.value] == 0
        assert 30 <= _sent(database) < len(ids), "the stop did not land mid-run"
        with running({"worker": ["worker", "--concurrency", "8"]}, env, tmp_path / "logs"):
            wait_for(lambda: _sent(database) == len(ids), timeout_s=120, what="every text to be sent")
    per_message = _requests(database)
    assert set(per_message) == set(ids), "a text never reached the gateway"
    assert max(per_message.values()) == 1, "a text reached the gateway twice"
    records = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert any(r.get("task_id") for r in records), "the worker's JSON lines carry no task id"


class _Supervised:
    """A worker restarted whenever it exits, as compose's `restart: unless-stopped` or systemd would."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.process = _worker(env, log)
        self.exits: list[int] = []
        self._stopping = threading.Event()
        self._watch = threading.Thread(target=self._run, daemon=True)
        self._watch.start()

    def _run(self) -> None:
        while not self._stopping.wait(0.5):
            code = self.process.poll()
            if code is not None and not self._stopping.is_set():
                self.exits.append(code)
                self.process = _worker(self.env, self.log)

    def stop(self) -> None:
        self._stopping.set()
        self._watch.join()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def test_redis_server_stopped_and_started_mid_run_loses_nothing_and_sends_nothing_twice(
    database: Engine, tmp_path: Path
) -> None:
    ids = seed_due_texts(database, create_clinic(database), patients=50, per_patient=6)
    with redis_server(tmp_path / "redis", "--maxmemory-policy", "noeviction") as server:
        env = _env(database, server.url, tmp_path, OUTREACH_SENDER_RATE_PER_S="60")
        with running({"scheduler": ["scheduler"]}, env, tmp_path / "logs"):
            worker = _Supervised(env, tmp_path / "worker.log")
            try:
                wait_for(
                    lambda: sum(_requests(database).values()) >= 60, timeout_s=90, what="60 texts to go out"
                )
                server.restart(down_s=3)  # the server process stops (SHUTDOWN) and a new one starts
                assert sum(_requests(database).values()) < len(ids), "the restart did not land mid-run"
                wait_for(lambda: _sent(database) == len(ids), timeout_s=180, what="every text to be sent")
            finally:
                worker.stop()
    per_message = _requests(database)
    assert set(per_message) == set(ids), "a text never reached the gateway"
    assert max(per_message.values()) == 1, "a text reached the gateway twice"
    # With kombu 5.7 the worker usually exits (code 0) when Redis goes away mid-batch: closing the lost
    # connection restores its unacked messages on a channel that has no connection any more, and Celery
    # treats the AttributeError as unrecoverable. Its supervisor starts it again (see README).


def _max_in_one_second(times: list[float]) -> int:
    times = sorted(times)
    most, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


def test_two_workers_share_each_senders_pace(database: Engine, shared_redis: str, tmp_path: Path) -> None:
    settings = Settings(_env_file=None, database_url=database.url.render_as_string(hide_password=False))
    north = create_clinic(database, name="North", phone="+12025550100")
    south = create_clinic(database, name="South", phone="+12025550200")
    slow = create_sender(database, settings, north, phone_number="+12025550111", rate_per_s=4)
    fast = create_sender(database, settings, south, phone_number="+12025550122", rate_per_s=8)
    expected = {slow.id: len(seed_due_texts(database, north, patients=24, per_patient=1))}
    expected[fast.id] = len(seed_due_texts(database, south, patients=48, per_patient=1))
    env = _env(database, shared_redis, tmp_path)
    commands = {
        "worker-a": ["worker", "--concurrency", "4"],
        "worker-b": ["worker", "--concurrency", "4"],
        "scheduler": ["scheduler"],
    }
    with running(commands, env, tmp_path / "logs"):
        wait_for(lambda: _sent(database) == 72, timeout_s=120, what="every text to be sent")
    with Session(database) as session:
        rows = session.exec(
            select(OutboundMessage.sender_id, SimulatedSms.created_at).join(
                SimulatedSms, col(SimulatedSms.message_id) == OutboundMessage.id
            )
        ).all()
    by_sender: dict[uuid.UUID | None, list[float]] = {}
    for sender_id, at in rows:
        by_sender.setdefault(sender_id, []).append(at.timestamp())
    assert {s: len(t) for s, t in by_sender.items()} == expected  # each text recorded its clinic's sender
    # One bucket per sender shared by both workers: never more than its rate in any second (one text of
    # slack for the time between the pacer's release and the simulator's timestamp).
    assert _max_in_one_second(by_sender[slow.id]) <= 4 + 1
    assert _max_in_one_second(by_sender[fast.id]) <= 8 + 1
    assert max(by_sender[slow.id]) - min(by_sender[slow.id]) >= (24 - 1) / 4 * 0.9
