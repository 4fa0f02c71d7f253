"""`python -m bench fanout --patients 100000`: launching a 3-step reminder campaign, against raw COPY.

Seeds patients in 20 languages and several time zones (one upcoming visit each) into a throwaway
PostgreSQL database, launches a −72 h/−24 h/−2 h reminder campaign through the real service (quiet
hours on), then runs the worker's windows hour by hour of simulated time, as the beat does, until the
last visit; then COPYs rows of the same shape into the same table in the same run as the baseline.

`launch_seconds` is the launch until it is committed; `seconds`, `rows_per_s` and `ratio_vs_copy` count
every row written (launch plus windows); `materialized_rows_per_s` the windows alone; the slowest window
must stay far under the lookahead, so every text is claimable long before its time.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bench._support import peak_rss_mb, psycopg_dsn, sealed, temp_database
from outreach.campaigns import enrollment, launch, materialize, service
from outreach.campaigns.schemas import CampaignCreate, EnrollIn
from outreach.clinics.models import Clinic
from outreach.clinics.service import create_clinic
from outreach.db import engine_for, session_scope, time_ordered_id
from outreach.i18n import SUPPORTED

ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "Pacific/Honolulu",
         "America/Puerto_Rico", "Asia/Manila", "Asia/Kolkata")  # fmt: skip
NAMES = ("Ana", "Minh", "Wei", "Olga", "Fatima", "José", "Amina", "Joseph", "Priya", "Kwame")
STEPS = [{"offset_minutes": -4320}, {"offset_minutes": -1440}, {"offset_minutes": -120}]
COLUMNS = launch.COLUMNS


def _copy(dsn: str, table: str, columns: tuple[str, ...], rows: Iterator[tuple[Any, ...]]) -> None:
    with (
        psycopg.connect(dsn) as conn,
        conn.cursor() as cur,
        cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _patient_id(i: int) -> uuid.UUID:
    """The i-th seeded patient's id (computed, so neither the seed nor the baseline holds a million)."""
    return uuid.UUID(int=(1 << 64) + i)


def _visit_id(i: int) -> uuid.UUID:
    """The i-th seeded patient's visit."""
    return uuid.UUID(int=(2 << 64) + i)


def _seed(dsn: str, clinic_id: uuid.UUID, count: int, now: datetime) -> datetime:
    """Patients and one visit each on a 15-minute grid over the coming two weeks, by COPY; the last visit."""
    start = (now + timedelta(days=4)).replace(hour=13, minute=0, second=0, microsecond=0)
    patient_cols = ("id", "clinic_id", "external_id", "given_name", "family_name", "phone_encrypted",
                    "phone_hash", "phone_last4", "language", "timezone", "consent", "created_at",
                    "updated_at")  # fmt: skip
    _copy(dsn, "patient", patient_cols, (
        (_patient_id(i), clinic_id, f"MRN{i:07d}", NAMES[i % len(NAMES)], "Doe", *sealed(f"+1202{i:07d}"),
         SUPPORTED[i % len(SUPPORTED)], ZONES[i % len(ZONES)], "granted", now, now)
        for i in range(count)
    ))  # fmt: skip
    visit_cols = ("id", "clinic_id", "patient_id", "starts_at", "location", "status", "created_at")
    _copy(dsn, "appointment", visit_cols, (
        (_visit_id(i), clinic_id, _patient_id(i),
         start + timedelta(days=(i // 40) % 10, minutes=15 * (i % 40)), "Main St Clinic, Room 2", "booked",
         now)
        for i in range(count)
    ))  # fmt: skip
    return start + timedelta(days=9, minutes=15 * 39)


@dataclass(frozen=True, slots=True)
class Launched:
    """What a launch and the worker's windows took."""

    rows: int
    enroll_s: float
    launch_s: float
    materialize_s: float
    windows: int
    slowest_window_s: float


def _materialize(
    engine: Engine, campaign_id: uuid.UUID, now: datetime, until: datetime
) -> tuple[float, int, float]:
    """The worker's windows, hour by hour of simulated time as the beat runs them: (s, windows, slowest)."""
    total, windows, slowest = 0.0, 0, 0.0
    at = now
    while at <= until:
        began = time.perf_counter()
        materialize.advance(engine=engine, campaign_id=campaign_id, now=at, ahead=materialize.AHEAD)
        spent = time.perf_counter() - began
        total, windows, slowest = total + spent, windows + 1, max(slowest, spent)
        if windows % 24 == 0:
            print(f"  {windows // 24} simulated days of windows, {total:.0f} s", file=sys.stderr)
        at += materialize.STRIDE
    return total, windows, slowest


def _launch(url: str, clinic_id: uuid.UUID, now: datetime, last_visit: datetime) -> Launched:
    """Enroll, launch (until durable: committed), then the worker's windows until the last visit."""
    engine = engine_for(url)
    data = CampaignCreate.model_validate({"name": "Bench reminders", "kind": "reminder", "steps": STEPS})
    with session_scope(engine) as session:
        clinic = session.get_one(Clinic, clinic_id)
        campaign = service.create_campaign(session=session, clinic=clinic, data=data, now=now)
    began = time.perf_counter()
    with session_scope(engine) as session:
        enrollment.enroll(
            session=session, clinic_id=clinic_id, campaign_id=campaign.id, data=EnrollIn(all=True), now=now
        )
    enrolled = time.perf_counter()
    with session_scope(engine) as session:
        launch.launch(session=session, clinic_id=clinic_id, campaign_id=campaign.id, now=now)
    launched = time.perf_counter()
    spent, windows, slowest = _materialize(engine, campaign.id, now, last_visit)
    with Session(engine) as session:
        report = launch.report(
            launch.get_launch(session=session, clinic_id=clinic_id, campaign_id=campaign.id)
        )
    return Launched(report.rows_written, enrolled - began, launched - enrolled, spent, windows, slowest)


def _baseline(dsn: str, clinic_id: uuid.UUID, patients: int, rows: int) -> float:
    """Seconds to COPY `rows` outbox rows of the same shape into the same table (then rolled back)."""
    with psycopg.connect(dsn) as conn:
        campaign, step = conn.execute(
            "SELECT c.id, s.id FROM campaign c JOIN campaign_step s ON s.campaign_id = c.id"
        ).fetchone()  # type: ignore[misc]
        body = conn.execute("SELECT body FROM outbound_message LIMIT 1").fetchone()[0]  # type: ignore[index]
        now = datetime.now(UTC)
        began = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY outbound_message ({', '.join(COLUMNS)}) FROM STDIN") as copy,
        ):
            for n in range(rows):
                i = n % patients
                row = (time_ordered_id(), clinic_id, _patient_id(i), "reminder", campaign, step, _visit_id(i),
                       now, "scheduled", "en", body, 2, "GSM-7", 0, None, now, now)  # fmt: skip
                copy.write_row(row)
        seconds = time.perf_counter() - began
        conn.rollback()
    return seconds


def main(argv: list[str]) -> dict[str, object]:
    """Seed, launch, compare with COPY; return the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench fanout")
    parser.add_argument("--patients", type=int, default=100_000)
    args = parser.parse_args(argv)
    now = datetime.now(UTC)
    with temp_database("outreach_bench_fanout") as url:
        with session_scope(engine_for(url)) as session:
            clinic_id = create_clinic(session=session, name="Bench Clinic", phone="+12025550100").id
        last_visit = _seed(psycopg_dsn(url), clinic_id, args.patients, now)
        with psycopg.connect(psycopg_dsn(url), autocommit=True) as conn:
            conn.execute("ANALYZE")  # a live database has statistics; a freshly bulk-loaded one does not
        run = _launch(url, clinic_id, now, last_visit)
        launch_rss = peak_rss_mb()  # the seed streams its rows; this is enrolling, launching and the windows
        copy_s = _baseline(psycopg_dsn(url), clinic_id, args.patients, run.rows)
    work_s = run.launch_s + run.materialize_s  # every row written, launch included
    return {
        "bench": "fanout",
        "patients": args.patients,
        "rows": run.rows,
        "seconds": round(work_s, 2),
        "rows_per_s": round(run.rows / work_s),
        "copy_rows_per_s": round(run.rows / copy_s),
        "ratio_vs_copy": round(copy_s / work_s, 3),
        "enroll_seconds": round(run.enroll_s, 2),
        "launch_seconds": round(run.launch_s, 3),
        "materialized_rows_per_s": round(run.rows / run.materialize_s),
        "windows": run.windows,
        "slowest_window_seconds": round(run.slowest_window_s, 2),
        "lookahead_hours": materialize.AHEAD.total_seconds() / 3600,
        "peak_rss_mb": launch_rss,
    }
