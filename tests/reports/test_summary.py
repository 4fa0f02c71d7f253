"""The stored per-patient summary: a campaign's report from it equals the live report, figure for figure,
after every kind of change and an incremental refresh, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach.clinics.models import Clinic
from outreach.config import Settings
from outreach.db import session_scope
from outreach.inbox.models import InboundMessage
from outreach.messaging.models import OutboundMessage
from outreach.reports import figures, summary_read
from outreach.reports.build import outcome_report
from outreach.reports.groups import clinic_languages
from outreach.reports.models import ReportPatientSummary
from outreach.reports.periodic import refresh_campaigns
from outreach.reports.queries import Scope, per_patient
from outreach.reports.schemas import ReportOut
from outreach.reports.summary import GROUPINGS, refresh
from tests.factories import create_clinic
from tests.reports.seed import SENT_AT, campaign, patients, replies, texts, update_patients

BUILT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LATER = BUILT + timedelta(hours=3)
REFRESHED = BUILT + timedelta(hours=4)


def _report(engine: Engine, settings: Settings, clinic_id: uuid.UUID, cid: uuid.UUID, by: str, *,
            live: bool, now: datetime = REFRESHED) -> ReportOut:  # fmt: skip
    with session_scope(engine) as session:
        return outcome_report(session=session, settings=settings, clinic_id=clinic_id, by=by,
                              campaign_id=cid, now=now, live=live)  # fmt: skip


def _figures(report: ReportOut) -> dict[str, Any]:
    return report.model_dump(exclude={"generated_at", "computed_at"})


def _assert_same_both_ways(engine: Engine, settings: Settings, clinic: Clinic, cid: uuid.UUID) -> None:
    for by in figures.DIMENSIONS:
        stored = _report(engine, settings, clinic.id, cid, by, live=False)
        live = _report(engine, settings, clinic.id, cid, by, live=True)
        assert stored.computed_at is not None, by  # it did read the summary
        assert live.computed_at is None
        assert _figures(stored) == _figures(live), by


def _seed(engine: Engine) -> tuple[Clinic, uuid.UUID, dict[str, list[uuid.UUID]]]:
    """Every outcome the report counts, in four languages (Somali texts fall back to English)."""
    clinic = create_clinic(engine)
    en = patients(engine, clinic, 40, language="en")
    es = patients(engine, clinic, 15, language="es-MX") + patients(engine, clinic, 15, language="es-US")
    # Born 25 December 1961: 64 on the report's day (1 December 2026), 65 in its year: 65+.
    so = patients(engine, clinic, 14, language="so", birth_date=datetime(1961, 12, 25).date(), sex="female")
    vi = patients(engine, clinic, 12, language="vi", race="2028-9", postal_code="02139")
    never = patients(engine, clinic, 11, language="en")
    cid = campaign(engine, clinic, en + es + so + vi + never)
    ok = texts(engine, clinic, cid, en[:30], status="delivered", segments=2)
    texts(engine, clinic, cid, en[30:34], status="failed", error_code=21211)
    texts(engine, clinic, cid, en[34:37], status="failed", error_code=30007)
    texts(engine, clinic, cid, en[37:], status="scheduled")
    es_ok = texts(engine, clinic, cid, es[:25], status="delivered", language="es", segments=3)
    texts(engine, clinic, cid, es[25:], status="sent", language="es")
    texts(engine, clinic, cid, es[:5], status="delivered", language="es", at=SENT_AT + timedelta(days=1))
    so_ok = texts(engine, clinic, cid, so[:10], status="delivered")  # no Somali text: English
    texts(engine, clinic, cid, so[10:], status="held", error_reason="no_text_in_language: so")
    vi_sent = texts(engine, clinic, cid, vi[:6], status="sent", language="vi")
    texts(engine, clinic, cid, vi[6:9], status="skipped", language="vi")
    texts(engine, clinic, cid, vi[9:], status="unknown", language="vi")
    replies(engine, clinic, ok[:14], kind="confirm")
    replies(engine, clinic, ok[14:20], kind="cancel_request")
    replies(engine, clinic, ok[20:22], kind="optout")
    replies(engine, clinic, ok[22:24], kind="message", after=timedelta(days=9))  # outside the window
    replies(engine, clinic, es_ok[:12], kind="checkin_answer", answer=1)
    replies(engine, clinic, es_ok[12:16], kind="checkin_answer", answer=3)
    replies(engine, clinic, so_ok[:4], kind="confirm")
    replies(engine, clinic, vi_sent[:3], kind="confirm")  # an answer proves delivery
    return clinic, cid, {"en": en, "es": es, "so": so, "vi": vi, "never": never}


def _change(engine: Engine, clinic: Clinic, cid: uuid.UUID, who: dict[str, list[uuid.UUID]]) -> int:
    """Deliveries, failures, replies, an opt-out, new texts and a language change, all after BUILT;
    return how many patients they touch."""
    en, es, vi, never = who["en"], who["es"], who["vi"], who["never"]
    with session_scope(engine) as session:
        session.execute(
            update(OutboundMessage)
            .where(col(OutboundMessage.patient_id).in_(en[37:]))
            .values(status="delivered", sent_at=LATER, updated_at=LATER)
        )
        session.execute(
            update(OutboundMessage)
            .where(col(OutboundMessage.patient_id).in_(vi[:2]))
            .values(status="failed", error_code=30003, updated_at=LATER)
        )
    fresh = texts(engine, clinic, cid, never[:4], status="delivered", at=LATER)
    replies(engine, clinic, fresh[:2], kind="confirm")
    with Session(engine) as session:  # replies to texts sent before BUILT, arriving after it
        old = list(
            session.exec(select(OutboundMessage.id).where(col(OutboundMessage.patient_id).in_(es[25:28])))
        )
    replies(engine, clinic, old, kind="optout", after=timedelta(hours=1))
    with session_scope(engine) as session:
        session.execute(
            update(InboundMessage)
            .where(col(InboundMessage.in_reply_to_id).in_(old))
            .values(received_at=LATER)
        )
    update_patients(engine, who["so"][:3], language="en", updated_at=LATER)  # their English texts: native
    return len(en[37:]) + 2 + 4 + 3 + 3


def test_a_campaign_report_from_the_summary_equals_the_live_one(engine: Engine, settings: Settings) -> None:
    clinic, cid, who = _seed(engine)
    with session_scope(engine) as session:
        built = refresh(session=session, clinic_id=clinic.id, campaign_id=cid, reply_days=7, now=BUILT)
    assert built is not None
    assert built.full
    assert built.patients == 96
    _assert_same_both_ways(engine, settings, clinic, cid)

    touched = _change(engine, clinic, cid, who)
    with session_scope(engine) as session:
        again = refresh(session=session, clinic_id=clinic.id, campaign_id=cid, reply_days=7, now=REFRESHED)
    assert again is not None
    assert not again.full
    assert again.patients == touched  # only the patients whose texts, replies or language changed

    _assert_same_both_ways(engine, settings, clinic, cid)
    by_language = {g.key: g.counts for g in _report(engine, settings, clinic.id, cid, "language",
                                                     live=False).groups}  # fmt: skip
    assert by_language["en"]["targeted"] == 40 + 11 + 3  # the three who changed language are English now
    assert by_language["en"]["confirmed"] == 14 + 2 + 3  # the three had confirmed their English text
    by_age = {g.key: g.counts["targeted"] for g in _report(engine, settings, clinic.id, cid, "age_band",
                                                           live=False).groups}  # fmt: skip
    assert by_age == {"65+": 14, "not_recorded": 40 + 30 + 12 + 11}  # only the Somali ones have a birth date


def test_the_stored_rows_have_the_live_levels_columns(engine: Engine) -> None:
    clinic = create_clinic(engine)
    stored = {c.name for c in ReportPatientSummary.__table__.c}  # type: ignore[attr-defined]
    with Session(engine) as session:
        languages = clinic_languages(session=session, clinic=clinic)
        dialect = session.get_bind().dialect.name
        scope = Scope(clinic_id=clinic.id, campaign_id=uuid.uuid4())
        for grouping in GROUPINGS:
            live = {c.name for c in per_patient(scope, by=grouping or "language", languages=languages,
                                                 today=BUILT.date(), dialect=dialect).c}  # fmt: skip
            assert live - stored == set(), grouping
            assert summary_read.stored_rows(scope, by=grouping or "sex").c.keys() == list(
                per_patient(scope, by=grouping or "sex", languages=languages, today=BUILT.date(),
                            dialect=dialect).c.keys()
            )  # fmt: skip


def test_a_request_refreshes_a_few_changed_patients_and_shows_when(
    engine: Engine, settings: Settings
) -> None:
    clinic, cid, who = _seed(engine)
    with session_scope(engine) as session:
        refresh(session=session, clinic_id=clinic.id, campaign_id=cid, reply_days=7, now=BUILT)
    unchanged = _report(engine, settings, clinic.id, cid, "language", live=False, now=LATER)
    assert unchanged.computed_at == BUILT  # nothing changed: the summary as built

    _change(engine, clinic, cid, who)
    served = _report(engine, settings, clinic.id, cid, "language", live=False, now=REFRESHED)
    assert served.computed_at == REFRESHED  # refreshed in the request
    assert _figures(served) == _figures(_report(engine, settings, clinic.id, cid, "language", live=True))


def test_many_changes_show_the_summary_as_of_its_time(
    engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    clinic, cid, who = _seed(engine)
    with session_scope(engine) as session:
        refresh(session=session, clinic_id=clinic.id, campaign_id=cid, reply_days=7, now=BUILT)
    before = _report(engine, settings, clinic.id, cid, "language", live=False)
    _change(engine, clinic, cid, who)
    monkeypatch.setattr(summary_read, "ON_DEMAND_PATIENTS", 3)  # more changed patients than a request does

    served = _report(engine, settings, clinic.id, cid, "language", live=False)

    assert served.computed_at == BUILT
    assert served.total.counts == before.total.counts  # the outcomes as of BUILT, said so
    live = _report(engine, settings, clinic.id, cid, "language", live=True)
    delivered = before.total.counts["delivered"]
    assert delivered is not None
    # 3 scheduled texts delivered, 4 new ones (the 2 that failed later had been answered: still delivered)
    assert live.total.counts["delivered"] == delivered + 3 + 4


def test_date_ranges_and_other_reply_windows_stay_live(engine: Engine, settings: Settings) -> None:
    clinic, cid, _ = _seed(engine)
    with session_scope(engine) as session:
        refresh(session=session, clinic_id=clinic.id, campaign_id=cid, reply_days=7, now=BUILT)
        ranged = outcome_report(session=session, settings=settings, clinic_id=clinic.id, by="language",
                                date_from=SENT_AT.date(), date_to=BUILT.date(), now=REFRESHED)  # fmt: skip
    assert ranged.computed_at is None
    wider = settings.model_copy(update={"report_reply_days": 10})
    stored = _report(engine, wider, clinic.id, cid, "language", live=False)
    assert stored.computed_at is None  # built with 7 days: computed live with 10
    seven = _report(engine, settings, clinic.id, cid, "language", live=True).total.counts["replied"]
    assert seven is not None
    assert stored.total.counts["replied"] == seven + 2  # the two answers after 9 days count with 10


def test_the_periodic_refresh_builds_large_campaigns_and_refreshes_changed_ones(
    engine: Engine, settings: Settings
) -> None:
    clinic, cid, who = _seed(engine)
    small = campaign(engine, clinic, who["never"])
    texts(engine, clinic, small, who["never"][:2], status="delivered")

    first = refresh_campaigns(engine=engine, now=BUILT, reply_days=7, min_texts=50)
    assert first == {"built": 1, "refreshed": 0, "unchanged": 0, "live": 1, "busy": 0}
    later = BUILT + timedelta(hours=1)
    assert refresh_campaigns(engine=engine, now=later, reply_days=7, min_texts=50)["unchanged"] == 1

    _change(engine, clinic, cid, who)
    assert refresh_campaigns(engine=engine, now=REFRESHED, reply_days=7, min_texts=50)["refreshed"] == 1
    _assert_same_both_ways(engine, settings, clinic, cid)
