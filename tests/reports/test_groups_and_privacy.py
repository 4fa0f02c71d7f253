"""Grouping by recorded attributes and interpreter need; small-cell suppression; tenancy."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from outreach.clinics.models import ApiKey, Clinic, Role
from outreach.config import Settings
from outreach.db import session_scope
from outreach.errors import NotFound
from outreach.inbox.models import CoordinatorProfile
from outreach.reports.build import outcome_report
from outreach.reports.schemas import ReportOut
from tests.factories import create_clinic, create_key
from tests.reports.seed import campaign, patients, texts

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
NOVEMBER = {"date_from": date(2026, 11, 1), "date_to": date(2026, 12, 1)}


def _report(engine: Engine, settings: Settings, clinic: Clinic, by: str, **scope: object) -> ReportOut:
    with Session(engine) as session:
        return outcome_report(
            session=session,
            settings=settings,
            clinic_id=clinic.id,
            by=by,
            now=NOW,
            **scope,  # type: ignore[arg-type]
        )


def _delivered(engine: Engine, clinic: Clinic, count: int, **fields: object) -> list[uuid.UUID]:
    people = patients(engine, clinic, count, **fields)  # type: ignore[arg-type]
    texts(engine, clinic, None, people, status="delivered")
    return people


def test_age_bands_from_the_age_reached_in_the_reports_year(engine: Engine, settings: Settings) -> None:
    clinic = create_clinic(engine)  # the report is made on 3 December 2026: age = 2026 - birth year
    _delivered(engine, clinic, 12, language="en", birth_date=date(2010, 1, 1))  # 16
    _delivered(engine, clinic, 12, language="en", birth_date=date(1990, 6, 1))  # 36
    # 18 on 31 December: 17 on the report's day, but the year's age is 18 (the old definition said 0-17)
    _delivered(engine, clinic, 12, language="en", birth_date=date(2008, 12, 31))  # 18
    _delivered(engine, clinic, 12, language="en", birth_date=date(1962, 1, 1))  # 64
    # 65 tomorrow: 64 on the report's day, 65 in its year (the old definition said 45-64)
    _delivered(engine, clinic, 12, language="en", birth_date=date(1961, 12, 4))  # 65
    _delivered(engine, clinic, 12, language="en", birth_date=date(1961, 12, 3))  # 65
    _delivered(engine, clinic, 12, language="en", birth_date=date(1930, 5, 5))  # 96, stored as 90: still 65+
    _delivered(engine, clinic, 12, language="en")

    report = _report(engine, settings, clinic, "age_band", **NOVEMBER)

    assert {g.key: g.counts["targeted"] for g in report.groups} == {
        "0-17": 12, "18-44": 24, "45-64": 12, "65+": 36, "not_recorded": 12,
    }  # fmt: skip
    assert {g.key: g.label for g in report.groups}["not_recorded"] == "Not recorded"


def test_age_band_follows_the_reports_year_not_the_day(engine: Engine, settings: Settings) -> None:
    clinic = create_clinic(engine)
    _delivered(engine, clinic, 12, language="en", birth_date=date(1962, 12, 31))  # 64 in 2026, 65 in 2027
    _delivered(engine, clinic, 12, language="en", birth_date=date(2009, 1, 1))  # 17 in 2026, 18 in 2027
    new_year = datetime(2027, 1, 1, 12, 0, tzinfo=UTC)  # 1 January: nobody has had a birthday yet
    with Session(engine) as session:
        before, after = (
            outcome_report(session=session, settings=settings, clinic_id=clinic.id, by="age_band", now=now,
                           **NOVEMBER)  # type: ignore[arg-type]
            for now in (NOW, new_year)
        )  # fmt: skip
    assert {g.key: g.counts["targeted"] for g in before.groups} == {"0-17": 12, "45-64": 12}
    assert {g.key: g.counts["targeted"] for g in after.groups} == {"18-44": 12, "65+": 12}


def test_race_ethnicity_sex_and_zip3(engine: Engine, settings: Settings) -> None:
    clinic = create_clinic(engine)
    _delivered(engine, clinic, 12, language="en", race="2028-9,2106-3", postal_code="60612", sex="female")
    _delivered(engine, clinic, 13, language="en", race="2054-5", postal_code="60614-1234", ethnicity="2135-2")
    _delivered(engine, clinic, 14, language="en", race="ASKU", postal_code="20001")

    race = {
        g.key: (g.label, g.counts["delivered"])
        for g in _report(engine, settings, clinic, "race", **NOVEMBER).groups
    }
    zip3 = {
        g.key: g.counts["targeted"] for g in _report(engine, settings, clinic, "postal3", **NOVEMBER).groups
    }
    sex = {g.key: g.counts["targeted"] for g in _report(engine, settings, clinic, "sex", **NOVEMBER).groups}
    ethnicity = {
        g.key: g.counts["targeted"] for g in _report(engine, settings, clinic, "ethnicity", **NOVEMBER).groups
    }

    assert race == {
        "multiple": ("More than one race", 12),
        "2054-5": ("Black or African American", 13),
        "ASKU": ("Asked but declined", 14),
    }
    assert zip3 == {"606": 25, "200": 14}
    assert sex == {"female": 12, "not_recorded": 27}
    assert ethnicity == {"2135-2": 13, "not_recorded": 26}


def test_interpreter_need_recorded_or_derived_from_coordinator_languages(
    engine: Engine, settings: Settings
) -> None:
    clinic = create_clinic(engine)
    create_key(engine, clinic, Role.COORDINATOR)
    with session_scope(engine) as session:
        key = session.exec(select(ApiKey).where(ApiKey.clinic_id == clinic.id)).one()
        session.add(
            CoordinatorProfile(api_key_id=key.id, clinic_id=clinic.id, display_name="Ana", languages="en,es")
        )
    _delivered(engine, clinic, 11, language="es-MX")  # read by a coordinator
    _delivered(engine, clinic, 12, language="vi")  # nobody reads Vietnamese
    _delivered(engine, clinic, 13, language="en", interpreter_needed=True)  # recorded, e.g. from the EHR
    _delivered(engine, clinic, 14, language="so", interpreter_needed=False)

    report = _report(engine, settings, clinic, "interpreter", **NOVEMBER)

    assert {g.key: g.counts["targeted"] for g in report.groups} == {"needed": 25, "not_needed": 25}


def test_small_cells_show_as_suppressed_with_their_complement(engine: Engine, settings: Settings) -> None:
    clinic = create_clinic(engine)
    en = patients(engine, clinic, 40, language="en")
    es = patients(engine, clinic, 30, language="es")
    vi = patients(engine, clinic, 5, language="vi")
    cid = campaign(engine, clinic, en + es + vi)
    texts(engine, clinic, cid, en, status="delivered")
    texts(engine, clinic, cid, es[:18], status="delivered", language="es")
    texts(engine, clinic, cid, es[18:], status="failed", error_code=30003, language="es")
    texts(engine, clinic, cid, vi, status="delivered", language="vi")

    report = _report(engine, settings, clinic, "language", campaign_id=cid)

    groups = {g.key: g for g in report.groups}
    # vi's 5 is a small cell; with the total shown it would be 75 − 40 − 30, so es's 30 goes too.
    assert groups["vi"].counts["targeted"] is None
    assert groups["vi"].suppressed["targeted"] == "small_cell"
    assert groups["es"].suppressed["targeted"] == "complementary"
    assert groups["en"].counts["targeted"] == 40
    assert report.total.counts["targeted"] == 75
    # A rate that needs a hidden count is hidden and never flagged.
    assert groups["vi"].rates["reached"].rate is None
    assert groups["es"].rates["reached"].rate is None
    assert groups["es"].flagged == []
    # Delivered: en 40, es 18, vi 5 of 63 shown; es (the smallest other) hides vi's again.
    assert groups["es"].suppressed["delivered"] == "complementary"
    assert groups["es"].counts["not_delivered"] == 12  # sent and delivered are both hidden: safe
    assert groups["en"].rates["delivery"].rate == 1.0
    # Every hidden count is either a small cell or a complement; no count from 1 to 10 is shown.
    for group in [*report.groups, report.total]:
        for name, value in group.counts.items():
            assert value is None or value == 0 or value >= 11, (group.key, name, value)


def test_another_clinics_campaign_is_not_found_and_its_texts_never_counted(
    engine: Engine, settings: Settings
) -> None:
    mine, theirs = create_clinic(engine), create_clinic(engine, name="Theirs")
    _delivered(engine, mine, 12, language="en")
    other = patients(engine, theirs, 20, language="en")
    their_campaign = campaign(engine, theirs, other)
    texts(engine, theirs, their_campaign, other, status="delivered")

    with pytest.raises(NotFound):
        _report(engine, settings, mine, "language", campaign_id=their_campaign)
    (en,) = _report(engine, settings, mine, "language", **NOVEMBER).groups
    assert en.counts["targeted"] == 12


def test_texts_outside_the_date_range_are_left_out(engine: Engine, settings: Settings) -> None:
    clinic = create_clinic(engine)
    _delivered(engine, clinic, 12, language="en")

    december = _report(
        engine, settings, clinic, "language", date_from=date(2026, 12, 1), date_to=date(2027, 1, 1)
    )

    assert december.groups == []
    assert december.total.counts["targeted"] == 0
