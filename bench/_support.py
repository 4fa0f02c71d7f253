"""Shared benchmark plumbing: a throwaway PostgreSQL database and memory readings."""

from __future__ import annotations

import os
import resource
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from cryptography.fernet import Fernet

from outreach import migrate
from outreach.db import engine_for
from outreach.security import crypto

PG_ADMIN_DSN = os.environ.get("OUTREACH_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
# One run's keys for phone numbers: the seeding process and the servers and workers it starts share them.
os.environ.setdefault("OUTREACH_PHI_KEYS", Fernet.generate_key().decode())
os.environ.setdefault("OUTREACH_PHI_INDEX_KEYS", Fernet.generate_key().decode())


def phi_env() -> dict[str, str]:
    """The run's phone-number keys, for the environment of a process the bench starts."""
    return {name: os.environ[name] for name in ("OUTREACH_PHI_KEYS", "OUTREACH_PHI_INDEX_KEYS")}


def sealed(phone: str) -> tuple[str, str, str]:
    """A patient's stored number: (phone_encrypted, phone_hash, phone_last4), for a seed's COPY."""
    ring = crypto.active()
    return ring.encrypt(phone), ring.index(phone), crypto.last4(phone)


def encrypted(phone: str) -> str:
    """A number as an encrypted column stores it, for a seed's COPY."""
    return crypto.active().encrypt(phone)


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


def _cpu_ticks() -> dict[int, tuple[str, int, int]]:
    """Every process's (command, parent, user + system CPU ticks), from /proc (empty where there is none)."""
    found: dict[int, tuple[str, int, int]] = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            stat = entry.read_text()
        except OSError:  # gone since the listing
            continue
        command = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        found[int(entry.parent.name)] = (command, int(fields[1]), int(fields[11]) + int(fields[12]))
    return found


def _host_ticks() -> list[int]:
    """The machine's CPU ticks by state (user, nice, system, idle, iowait, irq, softirq, steal)."""
    try:
        with open("/proc/stat") as stat:
            return [int(tick) for tick in stat.readline().split()[1:9]]
    except OSError:
        return []


class CpuMeter:
    """CPU seconds spent by a process with its children, and by the local PostgreSQL server, over a span.

    Requests per CPU second are steadier than requests per wall second on a shared machine. PostgreSQL's
    figure counts every local `postgres` process, so it is only meaningful when nothing else uses it.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._start = _cpu_ticks()
        self._host = _host_ticks()

    def _split(self, ticks: dict[int, tuple[str, int, int]]) -> tuple[dict[int, int], dict[int, int]]:
        server = {self.pid} | {pid for pid, (_, parent, _) in ticks.items() if parent == self.pid}
        return (
            {pid: ticks[pid][2] for pid in server if pid in ticks},
            {pid: used for pid, (command, _, used) in ticks.items() if command == "postgres"},
        )

    def host(self) -> dict[str, float]:
        """How busy the machine's CPUs were since the meter started, and how much the hypervisor took."""
        now = _host_ticks()
        if not now or not self._host:
            return {}
        spent = [after - before for before, after in zip(self._host, now, strict=True)]
        total = sum(spent) or 1
        return {
            "host_busy": round(1 - (spent[3] + spent[4]) / total, 3),
            "host_steal": round(spent[7] / total, 3),
        }

    def seconds(self) -> tuple[float, float]:
        """(server, PostgreSQL) CPU seconds since the meter started (processes that ended are not seen)."""
        hz = os.sysconf("SC_CLK_TCK")
        before = self._split(self._start)
        after = self._split(_cpu_ticks())
        spent = [
            sum(used - start.get(pid, 0) for pid, used in now.items()) / hz
            for start, now in zip(before, after, strict=True)
        ]
        return spent[0], spent[1]


class DatabaseCpu:
    """CPU seconds of this process and of the PostgreSQL backends serving one database, over spans.

    A bench's throwaway database is its own, so its backends' CPU is the bench's alone even while other
    runs load the machine: CPU per operation is the figure that compares across sizes and hours.
    Backends are read from `pg_stat_activity` when a span starts and ends (pooled connections persist).
    """

    def __init__(self, dsn: str) -> None:
        self._conn = psycopg.connect(dsn, autocommit=True)
        self._database = self._conn.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
        self._own = self._conn.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]

    def _backends(self) -> set[int]:
        rows = self._conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> %s", (self._database, self._own)
        ).fetchall()
        return {int(pid) for (pid,) in rows}

    def span(self) -> tuple[float, dict[int, int]]:
        """A span's start: this process's CPU and the database's backends' ticks."""
        ticks = _cpu_ticks()
        return time.process_time(), {pid: ticks[pid][2] for pid in self._backends() if pid in ticks}

    def since(self, start: tuple[float, dict[int, int]]) -> tuple[float, float]:
        """(this process, the database's backends) CPU seconds since `start`."""
        began, before = start
        ticks = _cpu_ticks()
        hz = os.sysconf("SC_CLK_TCK")
        backends = sum(
            ticks[pid][2] - before.get(pid, 0) for pid in self._backends() | set(before) if pid in ticks
        )
        return time.process_time() - began, backends / hz

    def close(self) -> None:
        """Close the meter's own connection."""
        self._conn.close()


def psycopg_dsn(url: str) -> str:
    """A plain psycopg DSN from a SQLAlchemy URL."""
    return url.replace("postgresql+psycopg://", "postgresql://")
