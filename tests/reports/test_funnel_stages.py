"""Exclusions, held and skipped texts, and native vs fallback, on campaigns launched the real way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from outreach.config import Settings
from outreach.reports.build import outcome_report
from tests.campaigns.support import enroll, launch_now, make_campaign
from tests.factories import create_clinic
from tests.reports.seed import mark_texts, patients, update_patients, visits

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
BODIES = {"en": "Hello {first_name}, we have flu shots.", "es": "Hola {first_name}, tenemos vacunas."}


def test_exclusions_skips_and_waiting_by_reason(engine: Engine, settings: Settings) -> None:
    clinic = create_clinic(engine)
    ahead, soon, _no_visit, revoked, bounced = (patients(engine, clinic, 11, language="en") for _ in range(5))
    visits(engine, clinic, ahead + revoked + bounced, at=NOW + timedelta(days=5))
    visits(engine, clinic, soon, at=NOW + timedelta(hours=2))  # the −24 h reminder's time has passed
    campaign = make_campaign(engine, clinic, now=NOW)
    enroll(engine, campaign, now=NOW)
    update_patients(engine, revoked, consent="revoked")
    update_patients(engine, bounced, undeliverable_reason="landline")
    launch_now(engine, campaign, now=NOW)

    with Session(engine) as session:
        report = outcome_report(
            session=session,
            settings=settings,
            clinic_id=clinic.id,
            by="language",
            campaign_id=campaign.id,
            now=NOW,
        )

    (en,) = report.groups
    counts = en.counts
    assert counts["targeted"] == 55
    assert (counts["excluded"], counts["excluded_consent"], counts["excluded_undeliverable"]) == (33, 11, 11)
    assert counts["excluded_no_visit"] == 11
    assert (counts["skipped"], counts["waiting"], counts["held"], counts["sent"]) == (11, 11, 0, 0)
    assert "answered_1" not in counts  # a reminder campaign has no check-in answers
    assert en.rates["reached"].rate == 0.0


def _broadcast(engine: Engine, policy: str):  # type: ignore[no-untyped-def]
    clinic = create_clinic(engine)
    spanish = patients(engine, clinic, 12, language="es-MX")
    somali = patients(engine, clinic, 12, language="so")  # the campaign has no Somali text
    english = patients(engine, clinic, 12, language="en-US")
    steps = [{"send_at": (NOW + timedelta(days=1)).isoformat(), "bodies": BODIES}]
    campaign = make_campaign(engine, clinic, now=NOW, kind="broadcast", steps=steps, fallback_policy=policy)
    enroll(engine, campaign, now=NOW)
    launch_now(engine, campaign, now=NOW)
    mark_texts(engine, campaign.id, status="delivered", at=NOW + timedelta(days=1))
    return clinic, campaign, (spanish, somali, english)


def test_somali_patients_get_the_fallback_text_and_the_report_says_so(
    engine: Engine, settings: Settings
) -> None:
    clinic, campaign, _ = _broadcast(engine, "fallback")

    def report(by: str):  # type: ignore[no-untyped-def]
        with Session(engine) as session:
            return {
                g.key: g
                for g in outcome_report(
                    session=session,
                    settings=settings,
                    clinic_id=clinic.id,
                    by=by,
                    campaign_id=campaign.id,
                    now=NOW,
                ).groups
            }

    by_fallback, by_language, by_used = report("fallback"), report("language"), report("language_used")

    assert {k: g.counts["delivered"] for k, g in by_fallback.items()} == {"fallback": 12, "native": 24}
    assert by_fallback["fallback"].label == "Fallback language"
    assert by_language["so"].counts["texts_fallback"] == 12
    assert by_language["so"].rates["fallback"].rate == 1.0
    assert by_language["es"].rates["fallback"].rate == 0.0
    assert by_language["so"].label == "Somali"
    assert {k: g.counts["texts_sent"] for k, g in by_used.items()} == {"en": 24, "es": 12}


def test_with_the_hold_policy_somali_patients_are_held(engine: Engine, settings: Settings) -> None:
    clinic, campaign, _ = _broadcast(engine, "hold")

    with Session(engine) as session:
        report = outcome_report(
            session=session,
            settings=settings,
            clinic_id=clinic.id,
            by="language",
            campaign_id=campaign.id,
            now=NOW,
        )

    groups = {g.key: g.counts for g in report.groups}
    assert (groups["so"]["held"], groups["so"]["sent"], groups["so"]["targeted"]) == (12, 0, 12)
    assert (groups["es"]["held"], groups["es"]["delivered"]) == (0, 12)
