"""Journey outcomes in the outcome report: counted by the patient's language, small cells withheld the
way the funnel's are, scoped to a campaign or a clinic's date range, never another clinic's."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from outreach.clinics.models import Clinic
from outreach.config import Settings
from outreach.reports import cli
from outreach.reports.build import outcome_report
from outreach.reports.schemas import ReportOut
from outreach.reports.stats import wilson
from tests.factories import auth, create_clinic, create_key
from tests.journeys.support import journey_campaign
from tests.reports.journey_seed import NOW, answer, discharged, seed

DECEMBER = {"date_from": date(2026, 12, 1), "date_to": date(2027, 1, 1)}


def report(engine: Engine, settings: Settings, clinic: Clinic, by: str, **scope: object) -> ReportOut:
    with Session(engine) as session:
        return outcome_report(
            session=session,
            settings=settings,
            clinic_id=clinic.id,
            by=by,
            now=NOW,
            **scope,  # type: ignore[arg-type]
        )


def test_journey_outcomes_by_language_with_small_cells_withheld(engine: Engine, settings: Settings) -> None:
    clinic = create_clinic(engine)
    campaign_id = seed(engine, clinic)
    shown = report(engine, settings, clinic, "language", campaign_id=campaign_id).journeys
    assert shown is not None
    assert (shown.by, shown.counts) == (
        "language",
        ["journeys", "journeys_answered", "journeys_worse", "journeys_no_reply", "journeys_ended_early"],
    )
    by_key = {g.key: g for g in shown.groups}
    assert {k: g.label for k, g in by_key.items()} == {"en": "English", "es": "Spanish", "so": "Somali"}
    # Somali's 3 journeys and 1 answer are small cells; Spanish, the smallest other count of each of those
    # columns, is withheld too, or the total would give Somali's away. Zeros are shown.
    assert by_key["en"].counts == {
        "journeys": 13, "journeys_answered": 12, "journeys_worse": 12, "journeys_no_reply": 0,
        "journeys_ended_early": 11,
    }  # fmt: skip
    assert by_key["es"].counts == {
        "journeys": None, "journeys_answered": None, "journeys_worse": 0, "journeys_no_reply": 0,
        "journeys_ended_early": 0,
    }  # fmt: skip
    assert by_key["es"].suppressed == {"journeys": "complementary", "journeys_answered": "complementary"}
    assert by_key["so"].counts["journeys"] is None
    assert by_key["so"].suppressed == {"journeys": "small_cell", "journeys_answered": "small_cell"}
    assert shown.total.counts == {
        "journeys": 28, "journeys_answered": 24, "journeys_worse": 12, "journeys_no_reply": 0,
        "journeys_ended_early": 11,
    }  # fmt: skip
    answered = by_key["en"].rates["journeys_answered"]
    interval = wilson(12, 13)
    assert interval is not None
    assert (answered.rate, answered.ci_low, answered.ci_high) == (12 / 13, interval.low, interval.high)
    assert by_key["es"].rates["journeys_answered"].rate is None  # its counts are withheld
    assert shown.total.rates["journeys_answered"].rate == 24 / 28


def test_clinic_scope_counts_journeys_started_in_the_range_of_this_clinic_only(
    engine: Engine, settings: Settings
) -> None:
    clinic = create_clinic(engine)
    seed(engine, clinic)
    other = create_clinic(engine, name="Other Clinic", phone="+12025550111")
    journey_campaign(engine, other, now=NOW - timedelta(days=1))
    discharged(engine, other, 20, "en")

    december = report(engine, settings, clinic, "language_used", **DECEMBER).journeys
    assert december is not None
    assert december.by == "language"  # a text's own dimension: journeys go by the patient's language
    assert december.total.counts["journeys"] == 28  # not the other clinic's 20
    assert {g.key: g.counts["journeys"] for g in december.groups}["en"] == 13
    november = report(
        engine, settings, clinic, "language", date_from=date(2026, 11, 1), date_to=date(2026, 12, 1)
    )
    assert november.journeys is None  # no journey started then


def test_the_api_returns_the_journeys_beside_the_funnel(engine: Engine, client: TestClient) -> None:
    clinic = create_clinic(engine)
    campaign_id = seed(engine, clinic)
    response = client.get(
        "/admin/reports/outcomes",
        params={"campaign_id": str(campaign_id), "by": "language"},
        headers=auth(create_key(engine, clinic)),
    )
    assert response.status_code == 200, response.text
    journeys_out = response.json()["journeys"]
    assert journeys_out["total"]["counts"]["journeys_ended_early"] == 11
    assert {g["key"]: g["counts"]["journeys"] for g in journeys_out["groups"]} == {
        "en": 13,
        "es": None,
        "so": None,
    }


def test_the_command_prints_the_journeys_as_a_second_table(engine: Engine, settings: Settings) -> None:
    clinic = create_clinic(engine)
    campaign_id = seed(engine, clinic)
    shown = report(engine, settings, clinic, "language", campaign_id=campaign_id)
    cli.console.width = 220
    with cli.console.capture() as captured:
        cli.print_table(shown)
    printed = captured.get()
    assert "Journeys, by language" in printed
    lines = printed.splitlines()
    below = lines[next(n for n, line in enumerate(lines) if "Journeys, by language" in line) :]
    rows = {cells[1]: cells[2:-1] for line in below if len(cells := [c.strip() for c in line.split("│")]) > 3}
    assert rows["English"][:5] == ["13", "12", "12", "0", "11"]
    assert rows["English"][5].startswith("92% (")
    assert rows["Somali"][:2] == ["<11", "<11"]
    assert rows["Spanish"][:2] == ["suppressed", "suppressed"]
    assert rows["All patients"][:5] == ["28", "24", "12", "0", "11"]


def test_a_language_whose_journeys_go_unanswered_is_flagged(engine: Engine, settings: Settings) -> None:
    clinic = create_clinic(engine)
    campaign = journey_campaign(engine, clinic, now=NOW - timedelta(days=1))
    spanish = discharged(engine, clinic, 40, "es")
    english = discharged(engine, clinic, 40, "en")
    answer(engine, clinic, spanish[:36], 1)  # 90%
    answer(engine, clinic, english[:12], 1)  # 30%
    shown = report(engine, settings, clinic, "language", campaign_id=campaign.id).journeys
    assert shown is not None
    by_key = {g.key: g for g in shown.groups}
    assert by_key["en"].flagged == ["journeys_answered"]
    flag = by_key["en"].rates["journeys_answered"].flag
    assert flag is not None
    assert (flag.reference, flag.gap_pp) == ("es", 60.0)
    assert by_key["es"].flagged == []
