"""`python -m bench report --messages 1000000`: the campaign outcome report by language on PostgreSQL.

Seeds a throwaway database by COPY: one clinic, one reminder campaign, 100,000 enrolled patients in 20
languages (region tags mixed in: es-MX, es-US, zh-TW, ...), ten texts each on average with a realistic
mix of statuses and Twilio error codes, and replies (confirmations, requests to cancel, check-in
answers, STOP) for about a fifth of the texts. Builds the campaign's stored summary
(`refresh_seconds`), then times `reports.build.outcome_report(by="language")` as the API serves it (from
the summary), against the same counts as one hand-written SQL statement over the texts in the same run
(its samples taken in turn with the report's, since the machine is shared and its speed drifts): the
ratio is above 1, the summary being what makes the report fast. Last, 1,000 texts change and the
incremental refresh is timed (`incremental_refresh_ms`); the report from the summary then equals the
live report (`live_report_ms`, one run), every figure.
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
from sqlmodel import Session

from bench._support import DatabaseCpu, encrypted, peak_rss_mb, psycopg_dsn, sealed, temp_database
from outreach.campaigns.models import Campaign, CampaignKind, CampaignStatus
from outreach.clinics.service import create_clinic
from outreach.config import Settings
from outreach.db import engine_for, session_scope
from outreach.i18n import SUPPORTED
from outreach.reports.build import outcome_report
from outreach.reports.schemas import ReportOut
from outreach.reports.summary import refresh

TAGS = [*SUPPORTED, "es-MX", "es-US", "zh-TW", "pt-BR", "fr-HT"]
# status, error code, share of texts
MIX = [
    ("delivered", None, 0.82),
    ("sent", None, 0.05),
    ("failed", 30007, 0.03),
    ("failed", 21211, 0.02),
    ("failed", 30003, 0.02),
    ("failed", 21610, 0.01),
    ("skipped", None, 0.03),
    ("held", None, 0.01),
    ("scheduled", None, 0.01),
]
REPLIES = [
    ("confirm", None),
    ("cancel_request", None),
    ("checkin_answer", 1),
    ("checkin_answer", 3),
    ("message", None),
    ("optout", None),
]

BARE_SQL = """
WITH r AS (
  SELECT in_reply_to_id AS mid, min(received_at) AS any_at,
    min(CASE WHEN kind = 'confirm' THEN received_at END) AS confirm_at,
    min(CASE WHEN kind = 'cancel_request' THEN received_at END) AS cancel_at,
    min(CASE WHEN kind = 'optout' THEN received_at END) AS optout_at,
    min(CASE WHEN kind = 'checkin_answer' AND answer = 1 THEN received_at END) AS a1_at,
    min(CASE WHEN kind = 'checkin_answer' AND answer = 2 THEN received_at END) AS a2_at,
    min(CASE WHEN kind = 'checkin_answer' AND answer = 3 THEN received_at END) AS a3_at
  FROM inbound_message WHERE clinic_id = %(clinic)s AND in_reply_to_id IS NOT NULL
  GROUP BY 1
), t AS (
  SELECT o.patient_id, o.status IN ('sent', 'delivered', 'failed', 'unknown') AS sent,
    o.status = 'delivered' OR (o.status IN ('sent', 'delivered', 'failed', 'unknown')
      AND r.any_at <= o.sent_at + interval '7 days') AS delivered,
    o.status = 'failed' AS failed, o.error_code, o.segments, o.status, o.error_reason,
    o.language <> split_part(lower(p.language), '-', 1) AS fallback,
    r.any_at <= o.sent_at + interval '7 days' AS replied, r.confirm_at <= o.sent_at + interval '7 days' AS c,
    r.cancel_at <= o.sent_at + interval '7 days' AS x, r.optout_at <= o.sent_at + interval '7 days' AS so,
    r.a1_at <= o.sent_at + interval '7 days' AS a1, r.a2_at <= o.sent_at + interval '7 days' AS a2,
    r.a3_at <= o.sent_at + interval '7 days' AS a3
  FROM outbound_message o JOIN patient p ON p.id = o.patient_id LEFT JOIN r ON r.mid = o.id
  WHERE o.clinic_id = %(clinic)s AND o.campaign_id = %(campaign)s
), pp AS (
  SELECT patient_id, bool_or(sent) AS sent, bool_or(delivered) AS delivered,
    bool_or(status = 'held' AND error_reason LIKE 'no_text_in_language%%') AS held,
    bool_or(status = 'skipped') AS skipped, bool_or(coalesce(replied, false)) AS replied,
    bool_or(coalesce(c, false)) AS c, bool_or(coalesce(x, false)) AS x, bool_or(coalesce(so, false)) AS so,
    bool_or(coalesce(a1, false)) AS a1, bool_or(coalesce(a2, false)) AS a2,
    bool_or(coalesce(a3, false)) AS a3,
    count(*) FILTER (WHERE sent) AS texts_sent, count(*) FILTER (WHERE delivered) AS texts_delivered,
    count(*) FILTER (WHERE sent AND fallback) AS texts_fallback, count(*) FILTER (WHERE failed) AS failed,
    count(*) FILTER (WHERE failed AND error_code IN (21211, 21214, 21612, 21614, 30006)) AS f_invalid,
    count(*) FILTER (WHERE failed AND error_code IN (30004, 30007, 30032, 30034, 30035)) AS f_filtered,
    count(*) FILTER (WHERE failed AND error_code IN (30003, 30005)) AS f_unreachable,
    count(*) FILTER (WHERE failed AND error_code = 21610) AS f_optout,
    coalesce(sum(segments) FILTER (WHERE sent), 0) AS segments
  FROM t GROUP BY patient_id
)
SELECT split_part(lower(p.language), '-', 1) AS lang, count(*) AS targeted,
  count(*) FILTER (WHERE pp.patient_id IS NULL) AS excluded,
  count(*) FILTER (WHERE pp.patient_id IS NULL AND p.consent <> 'granted') AS excluded_consent,
  count(*) FILTER (WHERE pp.patient_id IS NULL AND p.consent = 'granted'
                   AND p.undeliverable_reason IS NOT NULL) AS excluded_undeliverable,
  count(*) FILTER (WHERE pp.patient_id IS NULL AND p.consent = 'granted'
                   AND p.undeliverable_reason IS NULL) AS excluded_no_visit,
  count(*) FILTER (WHERE NOT pp.sent AND pp.held) AS held,
  count(*) FILTER (WHERE NOT pp.sent AND NOT pp.held AND pp.skipped) AS skipped,
  count(*) FILTER (WHERE NOT pp.sent AND NOT pp.held AND NOT pp.skipped) AS waiting,
  count(*) FILTER (WHERE pp.sent) AS sent, count(*) FILTER (WHERE pp.delivered) AS delivered,
  count(*) FILTER (WHERE pp.sent AND NOT pp.delivered) AS not_delivered,
  count(*) FILTER (WHERE pp.replied) AS replied, count(*) FILTER (WHERE pp.c) AS confirmed,
  count(*) FILTER (WHERE pp.x AND NOT pp.c) AS cancel_requested,
  count(*) FILTER (WHERE pp.delivered AND NOT pp.x AND NOT pp.c) AS no_answer,
  count(*) FILTER (WHERE pp.a1) AS a1, count(*) FILTER (WHERE pp.a2) AS a2,
  count(*) FILTER (WHERE pp.a3) AS a3,
  count(*) FILTER (WHERE pp.so) AS opted_out, sum(pp.texts_sent), sum(pp.texts_delivered),
  sum(pp.texts_fallback), sum(pp.failed), sum(pp.f_invalid), sum(pp.f_filtered), sum(pp.f_unreachable),
  sum(pp.f_optout), sum(pp.failed - pp.f_invalid - pp.f_filtered - pp.f_unreachable - pp.f_optout),
  sum(pp.segments)
FROM campaign_enrollment e JOIN patient p ON p.id = e.patient_id LEFT JOIN pp ON pp.patient_id = e.patient_id
WHERE e.campaign_id = %(campaign)s
GROUP BY 1
"""


def _copy(conn: psycopg.Connection[Any], table: str, columns: str, rows: Iterator[tuple[Any, ...]]) -> None:
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _status(rng: random.Random) -> tuple[str, int | None]:
    roll = rng.random()
    for status, code, share in MIX:
        if roll < share:
            return status, code
        roll -= share
    return "delivered", None


def _seed(dsn: str, clinic_id: uuid.UUID, campaign_id: uuid.UUID, messages: int, now: datetime) -> None:
    """Patients, enrollments, texts and replies by COPY."""
    patients = max(1, messages // 10)
    rng = random.Random(16)
    pids = [uuid.uuid4() for _ in range(patients)]
    registered = now - timedelta(days=60)  # patients were on file before the campaign
    with psycopg.connect(dsn) as conn:
        _copy(
            conn,
            "patient",
            "id, clinic_id, external_id, given_name, family_name, phone_encrypted, phone_hash, phone_last4, "
            "language, timezone, "
            "consent, created_at, updated_at",
            (
                (
                    pid,
                    clinic_id,
                    f"R{i:08d}",
                    "Ana",
                    "Doe",
                    *sealed(f"+1{2025550000 + i}"),
                    TAGS[i % len(TAGS)],
                    "America/New_York",
                    "granted",
                    registered,
                    registered,
                )
                for i, pid in enumerate(pids)
            ),
        )
        _copy(
            conn,
            "campaign_enrollment",
            "id, campaign_id, patient_id, created_at",
            ((uuid.uuid4(), campaign_id, pid, now) for pid in pids),
        )
        print(f"seeded {patients} patients", file=sys.stderr)
        answered: list[tuple[uuid.UUID, uuid.UUID, datetime]] = []

        def texts() -> Iterator[tuple[Any, ...]]:
            for n in range(messages):
                pid = pids[n % patients]
                status, code = _status(rng)
                sent = now - timedelta(days=30, minutes=n % 40_000)
                was_sent = status in ("sent", "delivered", "failed")
                mid = uuid.uuid4()
                if was_sent and status != "failed" and rng.random() < 0.22:
                    answered.append((mid, pid, sent))
                yield (
                    mid,
                    clinic_id,
                    pid,
                    "reminder",
                    campaign_id,
                    sent,
                    status,
                    "en" if n % 7 == 0 else "es",
                    "Reminder",
                    1 + n % 2,
                    "GSM-7",
                    1,
                    code,
                    sent if was_sent else None,
                    sent,
                    sent,
                )

        _copy(
            conn,
            "outbound_message",
            "id, clinic_id, patient_id, kind, campaign_id, send_at, status, language, "
            "body, segments, encoding, attempts, error_code, sent_at, created_at, updated_at",
            texts(),
        )
        print(f"seeded {messages} texts", file=sys.stderr)

        sender = encrypted("+12025550000")  # one token for every reply: encrypting each is seed time

        def replies() -> Iterator[tuple[Any, ...]]:
            for n, (mid, pid, sent) in enumerate(answered):
                kind, answer = REPLIES[n % len(REPLIES)]
                late = timedelta(days=9) if n % 23 == 0 else timedelta(hours=1 + n % 50)
                yield (
                    uuid.uuid4(),
                    f"SM{n:032x}",
                    clinic_id,
                    pid,
                    sender,
                    "+12025550100",
                    "1",
                    "en",
                    kind,
                    answer,
                    "normal",
                    sent + late,
                    mid,
                )

        _copy(
            conn,
            "inbound_message",
            "id, provider_sid, clinic_id, patient_id, from_phone_encrypted, to_phone, body, "
            "language, kind, answer, priority, received_at, in_reply_to_id",
            replies(),
        )
        print(f"seeded {len(answered)} replies", file=sys.stderr)
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")


def _timed(calls: list[Callable[[], object]], repeats: int) -> list[list[float]]:
    """Samples of each call, taken in turn (the machine is shared: its speed drifts within a run)."""
    for call in calls:
        call()
    samples: list[list[float]] = [[] for _ in calls]
    for _ in range(repeats):
        for call, taken in zip(calls, samples, strict=True):
            began = time.perf_counter()
            call()
            taken.append((time.perf_counter() - began) * 1000)
    return samples


def _p95(samples: list[float]) -> float:
    return round(statistics.quantiles(samples, n=20, method="inclusive")[-1], 1)


CHANGED_TEXTS = 1000
# As status callbacks would: a tenth fail (unreachable), the rest are delivered; each stamped when.
CHANGE_SQL = """
WITH picked AS (
  SELECT id, random() < 0.1 AS fails FROM outbound_message WHERE campaign_id = %(c)s
  ORDER BY random() LIMIT %(n)s
)
UPDATE outbound_message o SET status = CASE WHEN p.fails THEN 'failed' ELSE 'delivered' END,
  error_code = CASE WHEN p.fails THEN 30003 END, sent_at = coalesce(o.sent_at, %(at)s), updated_at = %(at)s
FROM picked p WHERE o.id = p.id
"""


def _incremental(
    engine: Any,
    url: str,
    clinic_id: uuid.UUID,
    campaign_id: uuid.UUID,
    now: datetime,
    report: Callable[..., ReportOut],
) -> tuple[float, float]:
    """1,000 texts delivered or failed a second after the build; the refresh timed, then checked live."""
    changed, at = now + timedelta(seconds=1), now + timedelta(seconds=2)
    with psycopg.connect(psycopg_dsn(url)) as conn:
        conn.execute(CHANGE_SQL, {"at": changed, "c": campaign_id, "n": CHANGED_TEXTS})
    began = time.perf_counter()
    with session_scope(engine) as session:
        done = refresh(session=session, clinic_id=clinic_id, campaign_id=campaign_id, reply_days=7, now=at)
    incremental_ms = round((time.perf_counter() - began) * 1000, 1)
    assert done is not None
    assert not done.full
    began = time.perf_counter()
    live = report(live=True, at=at)
    live_ms = round((time.perf_counter() - began) * 1000, 1)
    stored = report(at=at)
    assert stored.computed_at == at
    skip = {"generated_at", "computed_at"}
    assert stored.model_dump(exclude=skip) == live.model_dump(exclude=skip), "summary and live differ"
    return incremental_ms, live_ms


def main(argv: list[str]) -> dict[str, object]:
    """Seed, time the report and the bare SQL, return the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench report")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    now = datetime.now(UTC)
    settings = Settings(_env_file=None)
    with temp_database("outreach_bench_report") as url:
        engine = engine_for(url)
        with session_scope(engine) as session:
            clinic_id = create_clinic(session=session, name="Bench Clinic", phone="+12025550100").id
            campaign = Campaign(
                clinic_id=clinic_id,
                name="Reminders",
                kind=CampaignKind.REMINDER,
                status=CampaignStatus.LAUNCHED,
            )
            session.add(campaign)
            session.flush()
            campaign_id = campaign.id
        _seed(psycopg_dsn(url), clinic_id, campaign_id, args.messages, now)

        began = time.perf_counter()
        with session_scope(engine) as session:
            refresh(session=session, clinic_id=clinic_id, campaign_id=campaign_id, reply_days=7, now=now)
        refresh_seconds = time.perf_counter() - began

        def report(*, live: bool = False, at: datetime = now) -> ReportOut:
            with Session(engine) as session:
                return outcome_report(
                    session=session,
                    settings=settings,
                    clinic_id=clinic_id,
                    by="language",
                    campaign_id=campaign_id,
                    now=at,
                    live=live,
                )

        shown = report()
        assert shown.computed_at == now  # served from the summary
        with psycopg.connect(psycopg_dsn(url)) as conn:
            params = {"clinic": clinic_id, "campaign": campaign_id}
            by_hand = conn.execute(BARE_SQL, params).fetchall()
            timed, bare = _timed([report, lambda: conn.execute(BARE_SQL, params).fetchall()], args.repeats)
        meter = DatabaseCpu(psycopg_dsn(url))
        start = meter.span()
        for _ in range(args.repeats):
            report()
        own_cpu, db_cpu = meter.since(start)
        meter.close()
        incremental_ms, live_ms = _incremental(engine, url, clinic_id, campaign_id, now, report)
    # The two count the same: the totals agree (their language keys differ only in how zh-TW is named).
    total = getattr(shown, "total").counts  # noqa: B009
    for name, column in (
        ("targeted", 1),
        ("sent", 9),
        ("delivered", 10),
        ("replied", 12),
        ("confirmed", 13),
    ):
        assert total[name] == sum(row[column] for row in by_hand), (
            name,
            total[name],
            [r[column] for r in by_hand],
        )
    return {
        "bench": "report",
        "messages": args.messages,
        "p95_ms": _p95(timed),
        "bare_sql_p95_ms": _p95(bare),
        "ratio_vs_bare_sql": round(_p95(bare) / _p95(timed), 3),
        # CPU per report served, in this process and in the database's backends: steadier than wall time
        # while other runs load the machine.
        "cpu_ms_per_report": round(own_cpu * 1000 / args.repeats, 1),
        "db_cpu_ms_per_report": round(db_cpu * 1000 / args.repeats, 1),
        "refresh_seconds": round(refresh_seconds, 2),
        "incremental_refresh_ms": incremental_ms,
        "live_report_ms": live_ms,
        "peak_rss_mb": peak_rss_mb(),
    }
