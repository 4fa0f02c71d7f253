"""`python -m bench journeys --events 50000`: recording discharges that each enroll a patient in a journey.

Seeds patients in 20 languages and several zones into a throwaway PostgreSQL database, a launched
6-step post-discharge check-in campaign (quiet hours on) and a rule enrolling every discharge, then
records one discharge per patient (spread over the past two days, as a daily feed brings them) through
`record_patient_events` in batches of `--batch`, each its own transaction: events, journeys, audit rows
and the texts already inside the launch's written window. `seconds` and `events_per_s` cover that.

Then, untimed, the check: every event started exactly one journey, and after the worker's windows have
written the whole plan, every journey has exactly one text per step.
"""

from __future__ import annotations

import argparse
import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
from sqlmodel import Session

from bench._support import peak_rss_mb, psycopg_dsn, sealed, temp_database
from bench.fanout import NAMES, ZONES, _copy
from outreach.campaigns import launch, materialize, service
from outreach.campaigns.schemas import CampaignCreate
from outreach.clinics.models import Clinic
from outreach.clinics.service import create_clinic
from outreach.db import engine_for, session_scope
from outreach.i18n import SUPPORTED
from outreach.journeys import service as journeys
from outreach.journeys.events import EventRecord, record_patient_events
from outreach.journeys.models import EventKind
from outreach.journeys.schemas import RuleIn

STEPS = [
    {"offset_minutes": 2880},  # 48 hours after discharge
    *({"first_after_days": d, "times": 1, "local_time": "10:00"} for d in (4, 7, 14, 28, 42)),
]


def _seed(dsn: str, clinic_id: uuid.UUID, count: int, now: datetime) -> list[uuid.UUID]:
    """Consenting patients by COPY; their ids."""
    ids = [uuid.uuid4() for _ in range(count)]
    cols = ("id", "clinic_id", "external_id", "given_name", "family_name", "phone_encrypted", "phone_hash",
            "phone_last4", "language", "timezone", "consent", "created_at", "updated_at")  # fmt: skip
    _copy(dsn, "patient", cols, (
        (pid, clinic_id, f"MRN{i:07d}", NAMES[i % len(NAMES)], "Doe", *sealed(f"+1202{i:07d}"),
         SUPPORTED[i % len(SUPPORTED)], ZONES[i % len(ZONES)], "granted", now, now)
        for i, pid in enumerate(ids)
    ))  # fmt: skip
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ANALYZE")
    return ids


def _campaign(url: str, clinic_id: uuid.UUID, now: datetime) -> uuid.UUID:
    """A launched journey campaign with its rule, its first (empty) window written."""
    engine = engine_for(url)
    data = CampaignCreate.model_validate(
        {"name": "After discharge", "kind": "checkin", "anchor_event": "discharged", "steps": STEPS}
    )
    with session_scope(engine) as session:
        clinic = session.get_one(Clinic, clinic_id)
        campaign = service.create_campaign(session=session, clinic=clinic, data=data, now=now)
        rule = RuleIn(event_kind=EventKind.DISCHARGED, campaign_id=campaign.id)
        journeys.create_rule(session=session, clinic_id=clinic_id, data=rule, now=now)
    with session_scope(engine) as session:
        launch.launch(session=session, clinic_id=clinic_id, campaign_id=campaign.id, now=now)
    materialize.advance(engine=engine, campaign_id=campaign.id, now=now)
    return campaign.id


def _check(url: str, campaign_id: uuid.UUID, events: int, now: datetime) -> None:
    """Every event one journey; after the whole plan is written, every journey one text per step."""
    engine = engine_for(url)
    materialize.advance(engine=engine, campaign_id=campaign_id, now=now, ahead=timedelta(days=60))
    with psycopg.connect(psycopg_dsn(url)) as conn:
        started = conn.execute("SELECT count(*), count(DISTINCT event_id) FROM journey").fetchone()
        wrong = conn.execute(
            "SELECT count(*) FROM (SELECT j.id FROM journey j LEFT JOIN outbound_message m "
            "ON m.journey_id = j.id GROUP BY j.id HAVING count(m.id) <> %s "
            "OR count(DISTINCT m.step_id) <> %s) AS w",
            (len(STEPS), len(STEPS)),
        ).fetchone()
    if started != (events, events) or wrong != (0,):
        raise SystemExit(f"series not planned exactly once: journeys {started}, wrong series {wrong}")
    with Session(engine) as session:
        record = launch.get_launch(session=session, clinic_id=_clinic(url), campaign_id=campaign_id)
        assert record.status != "done"


def _clinic(url: str) -> uuid.UUID:
    with psycopg.connect(psycopg_dsn(url)) as conn:
        return conn.execute("SELECT id FROM clinic").fetchone()[0]  # type: ignore[index,no-any-return]


def main(argv: list[str]) -> dict[str, object]:
    """Seed, record the events in batches, check every series; return the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench journeys")
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=5_000)
    args = parser.parse_args(argv)
    now = datetime.now(UTC).replace(microsecond=0)
    with temp_database("outreach_bench_journeys") as url:
        with session_scope(engine_for(url)) as session:
            clinic_id = create_clinic(session=session, name="Bench Clinic", phone="+12025550100").id
        patients = _seed(psycopg_dsn(url), clinic_id, args.events, now)
        campaign_id = _campaign(url, clinic_id, now)
        spread = timedelta(hours=48) / max(args.events, 1)
        events = [
            EventRecord(kind=EventKind.DISCHARGED, occurred_at=now - spread * n, patient_id=pid,
                        location="Ward 3", source="bench")
            for n, pid in enumerate(patients)
        ]  # fmt: skip
        engine = engine_for(url)
        began = time.perf_counter()
        for start in range(0, len(events), args.batch):
            with session_scope(engine) as session:
                record_patient_events(session, clinic_id, events[start : start + args.batch], now=now)
        seconds = time.perf_counter() - began
        _check(url, campaign_id, args.events, now)
    return {
        "bench": "journeys",
        "events": args.events,
        "seconds": round(seconds, 2),
        "events_per_s": round(args.events / seconds),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
