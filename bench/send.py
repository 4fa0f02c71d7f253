"""`python -m bench send --messages 10000`: the whole delivery pipeline against a plain SDK loop.

Scheduler → Redis → worker processes → official Twilio SDK → fake Twilio (10 ms latency), on PostgreSQL,
compared with sending through the same SDK and fake one message at a time in the same run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time as clock
import uuid
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import redis
from celery import Celery
from sqlalchemy import func, insert, update
from sqlmodel import Session, col, select

from bench._support import CpuMeter, DatabaseCpu, phi_env, process_peak_rss_mb, psycopg_dsn, temp_database
from fakes.twilio import FakeTwilio
from outreach.db import engine_for, session_scope
from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.models import Clinic, Patient
from outreach.security.crypto import phone_columns
from outreach.sms.base import OutboundSms
from outreach.sms.twilio import TwilioGateway

REDIS_URL = os.environ.get("OUTREACH_BENCH_REDIS", "redis://127.0.0.1:6379/12")
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


def _seed(url: str, count: int) -> None:
    now = datetime.now(UTC)
    # No quiet hours: the run must not depend on the hour of day it starts at.
    clinic = Clinic(name="Bench Clinic", quiet_start=time(0, 0), quiet_end=time(0, 0))
    people: list[dict[str, Any]] = []
    texts: list[dict[str, Any]] = []
    for i in range(count):
        pid = uuid.uuid4()
        people.append(
            {
                "id": pid,
                "clinic_id": clinic.id,
                "external_id": f"B{i:07d}",
                "given_name": "",
                "family_name": "",
                "phone": f"+1202555{i % 10000:04d}",
                "language": "en",
                "timezone": "UTC",
                "consent": "granted",
                "created_at": now,
                "updated_at": now,
            }
        )
        texts.append(
            {
                "id": uuid.uuid4(),
                "clinic_id": clinic.id,
                "patient_id": pid,
                "kind": "one_off",
                "send_at": FAR_FUTURE,
                "status": "scheduled",
                "language": "en",
                "body": f"Your visit is on Tuesday. Ref {i}",
                "segments": 1,
                "encoding": "GSM-7",
                "attempts": 0,
                "created_at": now,
                "updated_at": now,
            }
        )
    with session_scope(engine_for(url)) as session:
        session.add(clinic)
        session.flush()
        session.execute(insert(Patient), [{**p, **phone_columns(p["phone"])} for p in people])
        session.execute(insert(OutboundMessage), texts)


def _sequential_rate(fake: FakeTwilio, count: int) -> float:
    gateway = TwilioGateway(
        account_sid=fake.account_sid,
        auth_token=fake.auth_token,
        from_number="+12025550100",
        api_base_url=fake.url,
    )
    started = clock.perf_counter()
    for i in range(count):
        gateway.send(OutboundSms(uuid.uuid4(), f"+1303555{i % 10000:04d}", "Sequential baseline"))
    return count / (clock.perf_counter() - started)


def _settled(url: str) -> int:
    done = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.FAILED, MessageStatus.UNKNOWN)
    with Session(engine_for(url)) as session:
        return int(session.exec(select(func.count()).where(col(OutboundMessage.status).in_(done))).one())


class _Meter(DatabaseCpu):
    """The database's CPU, and the settled texts counted on the meter's own connection."""

    def settled(self) -> int:
        done = [
            str(s)
            for s in (
                MessageStatus.SENT,
                MessageStatus.DELIVERED,
                MessageStatus.FAILED,
                MessageStatus.UNKNOWN,
            )
        ]
        row = self._conn.execute(
            "SELECT count(*) FROM outbound_message WHERE status = ANY(%s)", (done,)
        ).fetchone()
        return int(row[0]) if row else 0


def _count(url: str, status: MessageStatus) -> int:
    with Session(engine_for(url)) as session:
        return int(session.exec(select(func.count()).where(col(OutboundMessage.status) == status)).one())


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "outreach", *args], env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT
    )


def _wait_ready(workers: int, timeout_s: float = 120) -> float:
    """Wait until every worker answers a ping (imports done, consuming); return the seconds it took.

    A fixed pause let a worker's start-up (imports, about 2 CPU-seconds each) fall inside the timed span
    on a loaded machine, counting it as CPU per text and its wall time as sending time.
    """
    began = clock.monotonic()
    control = Celery(broker=REDIS_URL).control
    while clock.monotonic() - began < timeout_s:
        if len(control.ping(timeout=0.5) or []) >= workers:
            break
    return round(clock.monotonic() - began, 1)


def main(argv: list[str]) -> dict[str, object]:
    """Run the send benchmark and return its figures."""
    parser = argparse.ArgumentParser(prog="python -m bench send")
    parser.add_argument("--messages", type=int, default=10000)
    parser.add_argument("--latency-ms", type=float, default=10)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--baseline", type=int, default=300, help="messages in the sequential SDK loop")
    args = parser.parse_args(argv)
    redis.Redis.from_url(REDIS_URL).flushdb()
    with temp_database() as url, FakeTwilio() as fake, TemporaryDirectory() as tmp:
        fake.latency_s = args.latency_ms / 1000
        _seed(url, args.messages)
        with engine_for(url).connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # What autovacuum would have done on a live database (it is off on some CI machines): the
            # planner needs the tables' sizes to pick index scans for the claim and the take.
            conn.exec_driver_sql("ANALYZE")
        sequential = _sequential_rate(fake, args.baseline)
        fake.creates.clear()
        fake.requests_per_callback.clear()
        env = _worker_env(url, fake, Path(tmp), args.messages)
        procs = [
            _start(["worker", "--concurrency", str(args.concurrency)], env, Path(tmp) / "w.log")
            for _ in range(args.workers)
        ]
        procs.append(_start(["scheduler"], env, Path(tmp) / "beat.log"))
        ready_s = _wait_ready(args.workers)  # the clock starts once every worker takes tasks
        meters = [CpuMeter(proc.pid) for proc in procs]
        database = _Meter(psycopg_dsn(url))
        span = database.span()
        started = clock.perf_counter()
        with session_scope(engine_for(url)) as session:
            session.execute(update(OutboundMessage).values(send_at=datetime.now(UTC) - timedelta(seconds=1)))
        deadline = clock.monotonic() + 600
        # Polled on the meter's own connection, whose CPU is not counted: the count scans the outbox, a
        # cost of the bench that grows with its size, not of sending.
        while database.settled() < args.messages and clock.monotonic() < deadline:
            clock.sleep(0.1)
        elapsed = clock.perf_counter() - started
        rss = max(process_peak_rss_mb(p.pid) for p in procs[:-1])
        cpu = [meter.seconds()[0] for meter in meters]  # each process with its children
        own_cpu, db_cpu = database.since(span)
        host = meters[0].host()
        database.close()
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
        sent = _settled(url)
        unknown = _count(url, MessageStatus.UNKNOWN)
        duplicates = sum(n - 1 for n in fake.requests_per_callback.values() if n > 1)
    rate = sent / elapsed
    return {
        "bench": "send",
        "messages": args.messages,
        "latency_ms": args.latency_ms,
        "workers": args.workers,
        "concurrency": args.concurrency,
        "seconds": round(elapsed, 2),
        "msgs_per_s": round(rate, 1),
        "sequential_msgs_per_s": round(sequential, 1),
        "ratio_vs_sequential": round(rate / sequential, 2),
        "duplicates": duplicates,
        "lost": args.messages - sent,
        # Settled, but as "may have arrived": no answer came in time (reconcile asks Twilio later).
        "unknown": unknown,
        "worker_peak_rss_mb": rss,
        "workers_ready_s": ready_s,
        # CPU the send workers spent per text sent (the scheduler's claim apart), over the timed span.
        "worker_cpu_ms_per_msg": round(sum(cpu[:-1]) * 1000 / max(sent, 1), 3),
        "scheduler_cpu_ms_per_msg": round(cpu[-1] * 1000 / max(sent, 1), 3),
        # Where the rest of the two cores went: this database's PostgreSQL backends, and this process,
        # which runs the fake Twilio (a thread per connection) and the polling for settled texts.
        "db_cpu_ms_per_msg": round(db_cpu * 1000 / max(sent, 1), 3),
        "fake_twilio_cpu_ms_per_msg": round(own_cpu * 1000 / max(sent, 1), 3),
        **host,
        "load_1m": round(os.getloadavg()[0], 2),  # others' work on the machine during the run
    }


def _worker_env(url: str, fake: FakeTwilio, tmp: Path, messages: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    env.update(
        **phi_env(),
        OUTREACH_DATABASE_URL=url,
        OUTREACH_BROKER_URL=REDIS_URL,
        OUTREACH_DATA_DIR=str(tmp),
        OUTREACH_GATEWAY="twilio",
        OUTREACH_TWILIO_ACCOUNT_SID=fake.account_sid,
        OUTREACH_TWILIO_AUTH_TOKEN=fake.auth_token,
        OUTREACH_TWILIO_FROM_NUMBER="+12025550100",
        OUTREACH_TWILIO_API_BASE_URL=fake.url,
        OUTREACH_SENDER_RATE_PER_S="10000",
        OUTREACH_SCHEDULER_INTERVAL_S="0.2",
        OUTREACH_CLAIM_BATCH_SIZE="1000",
        # The clinic's daily spend cap would hold every text past it (10,000 segments by default).
        OUTREACH_DAILY_SEGMENT_CAP=str(max(10000, messages)),
    )
    return env
