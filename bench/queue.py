"""`python -m bench queue --messages 1000000`: the coordinator queue's first page under a big inbox.

Seeds a throwaway PostgreSQL database by COPY with one clinic, a patient per thread, ten inbound texts
per thread on average and a realistic mix (most threads resolved, some open, a few claimed, urgent
and high ones among them, 20 languages), then times the first page of
`inbox.coordinator_queue.list_threads` as the API serves it: the default view, a language filter,
"my languages", and the second page through the cursor.
The baseline is the same page's bare SQL (one index walk, no Python), timed in the same run.
`cpu_ms_per_page` and `db_cpu_ms_per_page` are the CPU per first page in this process and in the
database's backends, which other processes' load moves less than wall time.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from sqlmodel import Session, select

from bench._support import DatabaseCpu, encrypted, peak_rss_mb, psycopg_dsn, sealed, temp_database
from outreach.auth import mint_key
from outreach.clinics.models import ApiKey, Role
from outreach.clinics.service import create_clinic
from outreach.db import engine_for, reader, session_scope
from outreach.i18n import SUPPORTED
from outreach.inbox import coordinator_queue as queue
from outreach.inbox.models import PRIORITY_RANK, Priority
from outreach.inbox.schemas import ProfileIn, ThreadPage

PER_THREAD = 10
_FIRST_PAGE_SQL = (
    "SELECT id FROM inbox_thread WHERE clinic_id = %s AND status IN ('open', 'claimed') "
    "ORDER BY priority_rank, waiting_since, id LIMIT 51"
)


def _copy(
    conn: psycopg.Connection[Any], table: str, columns: tuple[str, ...], rows: Iterator[tuple[Any, ...]]
) -> None:
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _thread_shape(i: int, rng: random.Random) -> tuple[str, str, int]:
    """(status, priority, rank): about 5% open, 1% claimed, the rest resolved; some high and urgent."""
    roll = rng.random()
    status = "open" if roll < 0.05 else "claimed" if roll < 0.06 else "resolved"
    pick = rng.random()
    priority = Priority.URGENT if pick < 0.01 else Priority.HIGH if pick < 0.08 else Priority.NORMAL
    return status, priority.value, PRIORITY_RANK[priority]


def _seed(dsn: str, clinic_id: uuid.UUID, key_id: uuid.UUID, messages: int, now: datetime) -> int:
    """Patients, threads and inbound texts by COPY; returns the number of threads."""
    threads = max(1, messages // PER_THREAD)
    rng = random.Random(7)
    pids = [uuid.uuid4() for _ in range(threads)]
    tids = [uuid.uuid4() for _ in range(threads)]
    with psycopg.connect(dsn) as conn:
        _copy(conn, "patient", ("id", "clinic_id", "external_id", "given_name", "family_name",
                                "phone_encrypted", "phone_hash", "phone_last4",
                                "language", "timezone", "consent", "created_at", "updated_at"), (
            (pid, clinic_id, f"Q{i:08d}", "Ana", "Doe", *sealed(f"+1{2025550000 + i}"), SUPPORTED[i % 20],
             "America/New_York", "granted", now, now)
            for i, pid in enumerate(pids)
        ))  # fmt: skip
        print(f"seeded {threads} patients", file=sys.stderr)
        # One token per number for its thread and texts: encrypting a million texts' numbers is seed time.
        tokens = [encrypted(f"+1{2025550000 + i}") for i in range(threads)]
        thread_cols = ("id", "clinic_id", "patient_id", "party", "from_phone_encrypted", "language", "kind",
                       "status", "priority", "priority_rank", "awaiting_reply", "waiting_since", "opened_at",
                       "last_message_at", "claimed_by", "claimed_at", "resolved_at")  # fmt: skip

        def thread_rows() -> Iterator[tuple[Any, ...]]:
            for i, (tid, pid) in enumerate(zip(tids, pids, strict=True)):
                status, priority, rank = _thread_shape(i, rng)
                since = now - timedelta(minutes=rng.randrange(60 * 24 * 90))
                claimed = key_id if status == "claimed" else None
                resolved = since + timedelta(hours=2) if status == "resolved" else None
                yield (tid, clinic_id, pid, f"p:{pid}", tokens[i], SUPPORTED[i % 20], "message",
                       status, priority, rank, status != "resolved", since, since, since, claimed,
                       since if claimed else None, resolved)  # fmt: skip

        _copy(conn, "inbox_thread", thread_cols, thread_rows())
        print(f"seeded {threads} threads", file=sys.stderr)
        message_cols = ("id", "provider_sid", "clinic_id", "patient_id", "from_phone_encrypted", "to_phone",
                        "body", "language", "kind", "priority", "received_at", "thread_id")  # fmt: skip

        def message_rows() -> Iterator[tuple[Any, ...]]:
            for n in range(messages):
                i = n % threads
                if n and n % 200_000 == 0:
                    print(f"  {n} texts", file=sys.stderr)
                yield (uuid.uuid4(), f"SM{n:032x}", clinic_id, pids[i], tokens[i], "+12025550100",
                       "Can I come in earlier tomorrow?", SUPPORTED[i % 20], "message", "normal",
                       now - timedelta(seconds=n), tids[i])  # fmt: skip

        _copy(conn, "inbound_message", message_cols, message_rows())
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")  # a live database has statistics and a visibility map
    print(f"seeded {messages} texts", file=sys.stderr)
    return threads


def _timed(call: Callable[[], object], repeats: int) -> list[float]:
    for _ in range(10):  # warm caches, as a coordinator's browser polling every few seconds does
        call()
    samples = []
    for _ in range(repeats):
        began = time.perf_counter()
        call()
        samples.append((time.perf_counter() - began) * 1000)
    return samples


def _p95(samples: list[float]) -> float:
    return round(statistics.quantiles(samples, n=20)[-1], 2)


def main(argv: list[str]) -> dict[str, object]:
    """Seed, time the queue's pages, compare with the bare SQL; return the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench queue")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args(argv)
    now = datetime.now(UTC)
    with temp_database("outreach_bench_queue") as url:
        engine = engine_for(url)
        with session_scope(engine) as session:
            clinic_id = create_clinic(session=session, name="Bench Clinic", phone="+12025550100").id
            mint_key(session=session, clinic_id=clinic_id, role=Role.COORDINATOR, name="Rosa")
        with Session(engine) as session:
            key_id = session.exec(select(ApiKey.id).where(ApiKey.clinic_id == clinic_id)).one()
        with session_scope(engine) as session:
            queue.set_profile(
                session=session,
                clinic_id=clinic_id,
                key_id=key_id,
                data=ProfileIn(display_name="Rosa", languages=["en", "es"]),
                now=now,
            )
        threads = _seed(psycopg_dsn(url), clinic_id, key_id, args.messages, now)

        def page(filters: queue.Filters, cursor: str | None = None) -> Callable[[], object]:
            def call() -> object:
                with Session(reader(engine)) as session:  # a GET's session, as the API opens it
                    return queue.list_threads(
                        session=session,
                        clinic_id=clinic_id,
                        key_id=key_id,
                        filters=filters,
                        limit=50,
                        cursor=cursor,
                    )

            return call

        first = page(queue.Filters())()
        assert isinstance(first, ThreadPage)
        assert len(first.items) == 50
        views = {
            "default": page(queue.Filters()),
            "language": page(queue.Filters(language="vi")),
            "my_languages": page(queue.Filters(mine=True)),
            "second_page": page(queue.Filters(), first.next_cursor),
        }
        timings = {name: _timed(call, args.repeats) for name, call in views.items()}
        meter = DatabaseCpu(psycopg_dsn(url))
        start = meter.span()
        for _ in range(args.repeats):
            views["default"]()
        own_cpu, db_cpu = meter.since(start)
        meter.close()
        with psycopg.connect(psycopg_dsn(url)) as conn:
            bare = _timed(lambda: conn.execute(_FIRST_PAGE_SQL, (clinic_id,)).fetchall(), args.repeats)
    default = timings["default"]
    return {
        "bench": "queue",
        "messages": args.messages,
        "threads": threads,
        "p95_ms": _p95(default),
        "p50_ms": round(statistics.median(default), 2),
        "p95_ms_by_view": {name: _p95(samples) for name, samples in timings.items()},
        "bare_sql_p95_ms": _p95(bare),
        "ratio_vs_bare_sql": round(_p95(bare) / _p95(default), 3),
        # CPU per first page, in this process (Python, the driver, decrypting) and in the database's
        # backends: steadier than wall time on a shared host, whose load moves the p95.
        "cpu_ms_per_page": round(own_cpu * 1000 / args.repeats, 2),
        "db_cpu_ms_per_page": round(db_cpu * 1000 / args.repeats, 2),
        "peak_rss_mb": peak_rss_mb(),
    }
