"""Coordinator response equity and the weekly trend, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session

from outreach.clinics.models import Clinic
from outreach.config import Settings
from outreach.db import session_scope
from outreach.inbox.models import Thread
from outreach.reports.build import outcome_report, report_trend
from tests.factories import create_clinic
from tests.reports.seed import patients, replies, texts

OPENED = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _threads(
    engine: Engine, clinic: Clinic, people: list[uuid.UUID], waits: list[int], resolve: list[int]
) -> None:
    rows = [
        {
            "id": uuid.uuid4(), "clinic_id": clinic.id, "patient_id": p, "party": f"p:{p}",
            "from_phone": "+12025550000", "language": "x", "kind": "message", "status": "resolved",
            "priority": "normal", "priority_rank": 2, "awaiting_reply": False, "waiting_since": OPENED,
            "opened_at": OPENED, "last_message_at": OPENED,
            "first_response_at": OPENED + timedelta(seconds=w), "resolved_at": OPENED + timedelta(seconds=r),
        }
        for p, w, r in zip(people, waits, resolve, strict=True)
    ]  # fmt: skip
    with session_scope(engine) as session:
        session.execute(insert(Thread), rows)


def test_median_and_p90_waits_by_language(engine: Engine, settings: Settings) -> None:
    clinic = create_clinic(engine)
    es = patients(engine, clinic, 12, language="es-US")
    en = patients(engine, clinic, 11, language="en")
    vi = patients(engine, clinic, 3, language="vi")
    _threads(engine, clinic, es, [60 * i for i in range(1, 13)], [600 * i for i in range(1, 13)])
    _threads(engine, clinic, en, [120] * 11, [300] * 11)
    _threads(engine, clinic, vi, [5000] * 3, [9000] * 3)

    with Session(engine) as session:
        report = outcome_report(
            session=session, settings=settings, clinic_id=clinic.id, by="language",
            date_from=date(2026, 11, 1), date_to=date(2026, 12, 1), now=NOW,
        )  # fmt: skip

    waits = {w.key: w for w in report.response_times}
    # Spanish, 1..12 minutes: median between the 6th and 7th = 390 s; p90 at rank 9.9 = 10.9 min = 654 s.
    assert waits["es"].threads == 12
    assert waits["es"].first_reply_median_s == pytest.approx(390.0)
    assert waits["es"].first_reply_p90_s == pytest.approx(654.0)
    assert waits["es"].resolution_median_s == pytest.approx(3900.0)
    assert waits["es"].resolution_p90_s == pytest.approx(6540.0)
    assert (waits["en"].first_reply_median_s, waits["en"].resolution_p90_s) == (120.0, 300.0)
    assert (waits["vi"].threads, waits["vi"].first_reply_median_s) == (None, None)  # 3 threads: not shown


def test_weekly_trend_of_delivered_and_confirmed_by_language(engine: Engine, settings: Settings) -> None:
    clinic = create_clinic(engine)
    es = patients(engine, clinic, 40, language="es")
    monday = datetime(2026, 11, 16, 15, 0, tzinfo=UTC)
    week1 = texts(engine, clinic, None, es[:24], status="delivered", language="es", at=monday)
    texts(engine, clinic, None, es[24:], status="failed", language="es", at=monday + timedelta(days=6))
    texts(engine, clinic, None, es, status="delivered", language="es", at=monday + timedelta(days=7))
    replies(engine, clinic, week1[:12], kind="confirm")

    with Session(engine) as session:
        cells = report_trend(
            session=session, settings=settings, clinic_id=clinic.id,
            date_from=date(2026, 11, 1), date_to=date(2026, 12, 1), now=NOW,
        )  # fmt: skip

    by_week = {(c.week, c.key): c for c in cells}
    first, second = by_week[(date(2026, 11, 16), "es")], by_week[(date(2026, 11, 23), "es")]
    assert (first.texts_sent, first.delivered_rate) == (40, 0.6)  # Sunday the 22nd is still that week
    assert (first.reminders_delivered, first.confirmed_rate) == (24, 0.5)
    assert (second.texts_sent, second.delivered_rate, second.confirmed_rate) == (40, 1.0, 0.0)
