"""Shared benchmark plumbing: a throwaway PostgreSQL database and memory readings."""

from __future__ import annotations

import os
import resource
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from outreach import migrate
from outreach.db import engine_for

PG_ADMIN_DSN = os.environ.get("OUTREACH_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextmanager
def temp_database(prefix: str = "outreach_bench") -> Iterator[str]:
    """A migrated PostgreSQL database (SQLAlchemy URL) that is dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_DSN.replace("postgresql://", "postgresql+psycopg://").rsplit("/", 1)[0] + f"/{name}"
    try:
        migrate.upgrade(url)
        yield url
    finally:
        engine_for(url).dispose()
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def process_peak_rss_mb(pid: int) -> float:
    """Another process's peak resident memory (VmHWM) in MB, 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


def psycopg_dsn(url: str) -> str:
    """A plain psycopg DSN from a SQLAlchemy URL."""
    return url.replace("postgresql+psycopg://", "postgresql://")
