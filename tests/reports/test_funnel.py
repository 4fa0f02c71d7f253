"""The funnel by language on a reminder campaign with known outcomes, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from outreach.config import Settings
from outreach.reports.build import outcome_report
from outreach.reports.schemas import ReportOut
from tests.factories import create_clinic
from tests.reports.seed import campaign, patients, replies, texts

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _report(engine: Engine, settings: Settings, clinic_id, by: str = "language", **scope) -> ReportOut:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return outcome_report(
            session=session, settings=settings, clinic_id=clinic_id, by=by, now=NOW, **scope
        )


def _seed_en_es(engine: Engine):  # type: ignore[no-untyped-def]
    """English: 100 sent, 88 delivered (12 invalid numbers), 60 confirm, 14 cancel, 14 silent.
    Spanish (50 es-MX + 50 es-US): 100 sent, 70 delivered (30 carrier-filtered), 35 / 15 / 20."""
    clinic = create_clinic(engine)
    en = patients(engine, clinic, 100, language="en")
    es = patients(engine, clinic, 50, language="es-MX") + patients(engine, clinic, 50, language="es-US")
    cid = campaign(engine, clinic, en + es)
    en_ok = texts(engine, clinic, cid, en[:88], status="delivered", segments=2)
    texts(engine, clinic, cid, en[88:], status="failed", error_code=21211, segments=2)
    es_ok = texts(engine, clinic, cid, es[:70], status="delivered", language="es", segments=3)
    texts(engine, clinic, cid, es[70:], status="failed", error_code=30007, language="es", segments=3)
    replies(engine, clinic, en_ok[:60], kind="confirm")
    replies(engine, clinic, en_ok[60:74], kind="cancel_request")
    replies(engine, clinic, es_ok[:35], kind="confirm")
    replies(engine, clinic, es_ok[35:50], kind="cancel_request")
    return clinic, cid


def test_counts_rates_intervals_and_flags_by_language(engine: Engine, settings: Settings) -> None:
    clinic, cid = _seed_en_es(engine)

    report = _report(engine, settings, clinic.id, campaign_id=cid)

    groups = {g.key: g for g in report.groups}
    assert sorted(groups) == ["en", "es"]  # es-MX and es-US are one language
    en, es = groups["en"].counts, groups["es"].counts
    assert (en["targeted"], en["sent"], en["delivered"], en["not_delivered"]) == (100, 100, 88, 12)
    assert (en["confirmed"], en["cancel_requested"], en["no_answer"], en["replied"]) == (60, 14, 14, 74)
    assert (en["texts_failed"], en["failed_invalid_or_landline"], en["failed_carrier_filtered"]) == (
        12,
        12,
        0,
    )
    assert (es["delivered"], es["failed_carrier_filtered"], es["confirmed"], es["no_answer"]) == (
        70,
        30,
        35,
        20,
    )
    assert report.total.counts["targeted"] == 200
    assert groups["es"].suppressed == {}
    # Spend: en 100 texts × 2 segments, es 100 × 3, at the default $0.0083 a segment.
    assert groups["en"].estimated_cost == pytest.approx(1.66)
    assert groups["es"].cost_per_patient == pytest.approx(0.0249)
    # Wilson for 70/100 by hand: centre 0.692599, half-width 0.088449.
    reached = groups["es"].rates["reached"]
    assert (reached.numerator, reached.denominator, reached.rate) == (70, 100, 0.7)
    assert reached.ci_low == pytest.approx(0.60415, abs=5e-5)
    assert reached.ci_high == pytest.approx(0.78105, abs=5e-5)
    # Reached 88% vs 70%: z = 0.18 / √(0.79·0.21·0.02) = 3.1249, p = 0.0018 → flagged.
    assert reached.flag is not None
    assert (reached.flag.reference, reached.flag.gap_pp) == ("en", 18.0)
    assert reached.flag.p_value == pytest.approx(0.00178, abs=2e-5)
    # Confirmed of delivered 60/88 vs 35/70: 18.18 points, z = 2.3186, p = 0.0204 → flagged.
    assert groups["es"].rates["confirmed"].flag is not None
    # Replied 74/88 vs 50/70: 12.66 points but z = 1.9239, p = 0.054 → not flagged.
    assert groups["es"].rates["replied"].flag is None
    assert sorted(groups["es"].flagged) == ["confirmed", "delivery", "reached"]
    assert groups["en"].flagged == []
    assert (report.rule.threshold_pp, report.rule.min_group_size, report.rule.reply_days) == (10.0, 30, 7)


def test_settings_move_the_flag(engine: Engine, settings: Settings) -> None:
    clinic, cid = _seed_en_es(engine)
    strict = settings.model_copy(update={"report_flag_threshold_pp": 18.5, "report_min_group_size": 30})
    small = settings.model_copy(update={"report_min_group_size": 101})

    by_threshold = {g.key: g for g in _report(engine, strict, clinic.id, campaign_id=cid).groups}
    by_size = {g.key: g for g in _report(engine, small, clinic.id, campaign_id=cid).groups}

    assert by_threshold["es"].flagged == []  # 18.0 and 18.18 points are under 18.5
    assert by_size["es"].flagged == []  # no group reaches 101 patients


def test_replies_after_the_window_do_not_count(engine: Engine, settings: Settings) -> None:
    clinic = create_clinic(engine)
    people = patients(engine, clinic, 36, language="vi")
    cid = campaign(engine, clinic, people)
    sent = texts(engine, clinic, cid, people, status="sent", language="vi")
    replies(engine, clinic, sent[:12], kind="confirm", after=timedelta(days=6, hours=23))
    replies(engine, clinic, sent[12:24], kind="confirm", after=timedelta(days=7, hours=1))

    (vi,) = _report(engine, settings, clinic.id, campaign_id=cid).groups

    # A reply proves delivery, even with no carrier callback; the late ones are neither.
    assert (vi.counts["sent"], vi.counts["delivered"], vi.counts["confirmed"]) == (36, 12, 12)
    assert vi.counts["not_delivered"] == 24
    wide = settings.model_copy(update={"report_reply_days": 8})
    (vi,) = _report(engine, wide, clinic.id, campaign_id=cid).groups
    assert (vi.counts["delivered"], vi.counts["confirmed"], vi.counts["not_delivered"]) == (24, 24, 12)
