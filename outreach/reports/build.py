"""The outcome report assembled from the grouped counts: suppression first, then rates and flags.

Nothing leaves this module unsuppressed: a count from 1 to 10 and every count that would reveal one
(`figures.PARTITIONS`, and each column against the total row) is null, and a rate that needs a null
count is null too and never flagged.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from sqlmodel import Session

from outreach.campaigns.models import Campaign
from outreach.config import Settings
from outreach.errors import Invalid
from outreach.reports import figures
from outreach.reports.groups import NO_TEXT, Languages, clinic_languages, clinic_of, label
from outreach.reports.journeys import count_journeys, journey_dimension
from outreach.reports.queries import Scope
from outreach.reports.responses import DIMENSIONS as RESPONSE_DIMENSIONS
from outreach.reports.responses import response_times
from outreach.reports.schemas import FlagOut, GroupOut, JourneysOut, RateOut, ReportOut, RuleOut, WeekCell
from outreach.reports.scope import day_start
from outreach.reports.stats import SMALL_CELL, FlagRule, Suppressed, disparity_flags, suppress_cells, wilson
from outreach.reports.summary_read import report_counts
from outreach.reports.trend import weekly_trend
from outreach.tenancy import get_owned

RowMarks = dict[str, Suppressed | None]
Marks = dict[str, RowMarks]
_BY_KIND: dict[str, frozenset[str]] = {
    "reminder": frozenset({"answered_1", "answered_2", "answered_3_worse"}),
    "checkin": frozenset({"confirmed", "cancel_requested", "no_answer"}),
    "broadcast": frozenset(
        {"answered_1", "answered_2", "answered_3_worse", "confirmed", "cancel_requested", "no_answer"}
    ),
    "all": frozenset({"excluded", "excluded_consent", "excluded_undeliverable", "excluded_no_visit"}),
}


def shown_counts(kind: str) -> list[str]:
    """The counts that mean something for this kind of campaign, in funnel order."""
    return [name for name in figures.COUNT_NAMES if name not in _BY_KIND.get(kind, frozenset())]


def suppression(rows: dict[str, dict[str, int]], total: dict[str, int], names: list[str]) -> Marks:
    """Marks for every group's counts and the total's (see the module docstring)."""
    keys = list(rows)
    marks: Marks = {k: dict.fromkeys(names) for k in [*keys, "__total__"]}
    table = {**rows, "__total__": total}
    partitions = [(whole, [p for p in parts if p in names]) for whole, parts in figures.PARTITIONS]
    for _ in range(10):  # until nothing changes: each pass can only add marks
        before = sum(m is not None for row in marks.values() for m in row.values())
        for name in names:
            column = suppress_cells([rows[k][name] for k in keys], already=[marks[k][name] for k in keys])
            for k, mark in zip(keys, column, strict=True):
                marks[k][name] = mark
            if total[name] > 0 and total[name] < SMALL_CELL:
                marks["__total__"][name] = Suppressed.SMALL_CELL
        for key, row in table.items():
            for whole, parts in partitions:
                if whole not in names or not parts:
                    continue
                cells = [*parts, whole] if marks[key][whole] is not None else parts
                got = suppress_cells([row[p] for p in cells], already=[marks[key][p] for p in cells])
                marks[key].update(zip(cells, got, strict=True))
        if sum(m is not None for row in marks.values() for m in row.values()) == before:
            return marks
    return marks


def _rate(counts: dict[str, int], marks: dict[str, Suppressed | None], rate: figures.RateFigure) -> RateOut:
    k, n = counts[rate.numerator], counts[rate.denominator]
    if marks.get(rate.numerator) or marks.get(rate.denominator) or n == 0:
        return RateOut(numerator=None if marks.get(rate.numerator) else k,
                       denominator=None if marks.get(rate.denominator) else n,
                       rate=None, ci_low=None, ci_high=None)  # fmt: skip
    interval = wilson(k, n)
    assert interval is not None
    return RateOut(numerator=k, denominator=n, rate=k / n, ci_low=interval.low, ci_high=interval.high)


def _group(
    key: str, by: str, counts: dict[str, int], marks: dict[str, Suppressed | None], *, kind: str, cost: float
) -> GroupOut:
    rates = {r.name: _rate(counts, marks, r) for r in figures.RATES if kind in r.kinds or kind == "all"}
    # Spend is segments × a published price: hidden with the segments it would reveal.
    spend = None if marks.get("segments") else counts["segments"] * cost
    return GroupOut(
        key=key,
        label="All patients" if key == "__total__" else label(by, key),
        counts={name: None if marks[name] else value for name, value in counts.items() if name in marks},
        suppressed={name: str(mark) for name, mark in marks.items() if mark is not None},
        rates=rates,
        flagged=[],
        estimated_cost=None if spend is None else round(spend, 4),
        cost_per_patient=round(spend / counts["targeted"], 4)
        if spend is not None and counts["targeted"] and not marks.get("targeted")
        else None,
    )


def _flag(
    groups: list[GroupOut], rule: FlagRule, rates: tuple[figures.RateFigure, ...] = figures.RATES
) -> None:
    by_key = {g.key: g for g in groups}
    for rate in rates:
        if not rate.flagged:
            continue
        values: dict[str, tuple[int, int]] = {}
        for g in groups:
            found = g.rates.get(rate.name)
            if found and g.key != NO_TEXT and found.rate is not None:
                assert found.numerator is not None
                assert found.denominator is not None
                values[g.key] = (found.numerator, found.denominator)
        for key, flag in disparity_flags(values, rule).items():
            group = by_key[key]
            group.rates[rate.name].flag = FlagOut(
                reference=flag.reference,
                reference_label=by_key[flag.reference].label,
                gap_pp=round(flag.gap_pp, 2),
                p_value=flag.p_value,
            )
            group.flagged.append(rate.name)


def _journey_group(
    key: str, by: str, counts: dict[str, int], marks: dict[str, Suppressed | None]
) -> GroupOut:
    return GroupOut(
        key=key,
        label="All patients" if key == "__total__" else label(by, key),
        counts={name: None if marks[name] else value for name, value in counts.items()},
        suppressed={name: str(mark) for name, mark in marks.items() if mark is not None},
        rates={r.name: _rate(counts, marks, r) for r in figures.JOURNEY_RATES},
        flagged=[],
        estimated_cost=None,
        cost_per_patient=None,
    )


def journey_outcomes(
    *, session: Session, scope: Scope, by: str, languages: Languages, today: date, rule: FlagRule
) -> JourneysOut | None:
    """The scope's journey outcomes by group, suppressed and flagged like the funnel; None: no journeys."""
    rows = count_journeys(session=session, scope=scope, by=by, languages=languages, today=today)
    if not rows:
        return None
    names = list(figures.JOURNEY_COUNT_NAMES)
    total = {name: sum(r[name] for r in rows.values()) for name in names}
    marks = suppression(rows, total, names)
    dimension = journey_dimension(by)
    groups = [_journey_group(k, dimension, r, marks[k]) for k, r in rows.items()]
    _flag(groups, rule, figures.JOURNEY_RATES)
    return JourneysOut(
        by=dimension,
        by_meaning=figures.DIMENSIONS[dimension],
        counts=names,
        groups=groups,
        total=_journey_group("__total__", dimension, total, marks["__total__"]),
    )


def outcome_report(
    *,
    session: Session,
    settings: Settings,
    clinic_id: uuid.UUID,
    by: str,
    campaign_id: uuid.UUID | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    now: datetime,
    live: bool = False,
) -> ReportOut:
    """The report for one campaign (or the clinic's texts in [date_from, date_to)), grouped by `by`:
    from the campaign's stored summary where one serves (`summary_read.py`), else (or when `live`) live."""
    if by not in figures.DIMENSIONS:
        raise Invalid("by", f"'{by}' must be one of {', '.join(figures.DIMENSIONS)}")
    if date_from and date_to and date_to <= date_from:
        raise Invalid("to", "must be after from")
    clinic = clinic_of(session, clinic_id)
    campaign = (
        get_owned(session, Campaign, campaign_id, clinic_id=clinic_id, name="campaign")
        if campaign_id
        else None
    )
    kind = str(campaign.kind) if campaign else "all"
    scope = Scope(
        clinic_id=clinic_id,
        campaign_id=campaign_id,
        start=day_start(date_from, clinic.timezone),
        end=day_start(date_to, clinic.timezone),
        reply_days=settings.report_reply_days,
    )
    languages = clinic_languages(session=session, clinic=clinic)
    counted = report_counts(session=session, scope=scope, by=by, languages=languages, now=now, live=live)
    rows = counted.rows
    names = shown_counts(kind)
    total = {name: sum(r[name] for r in rows.values()) for name in figures.COUNT_NAMES}
    marks = suppression({k: {n: r[n] for n in names} for k, r in rows.items()}, total, names)
    groups = [_group(k, by, r, marks[k], kind=kind, cost=clinic.cost_per_segment) for k, r in rows.items()]
    waits = (
        response_times(session=session, scope=scope, by=by, languages=languages)
        if by in RESPONSE_DIMENSIONS
        else []
    )
    rule = FlagRule(
        threshold_pp=settings.report_flag_threshold_pp, min_group_size=settings.report_min_group_size
    )
    _flag(groups, rule)
    return ReportOut(
        clinic_id=clinic_id,
        campaign_id=campaign_id,
        campaign_name=campaign.name if campaign else None,
        kind=kind,
        date_from=date_from,
        date_to=date_to,
        by=by,
        by_meaning=figures.DIMENSIONS[by],
        rule=RuleOut(
            reply_days=settings.report_reply_days,
            threshold_pp=rule.threshold_pp,
            min_group_size=rule.min_group_size,
            alpha=rule.alpha,
            small_cell=SMALL_CELL,
        ),
        generated_at=now,
        computed_at=counted.computed_at,
        counts=names,
        groups=groups,
        total=_group("__total__", by, total, marks["__total__"], kind=kind, cost=clinic.cost_per_segment),
        response_times=waits,
        journeys=journey_outcomes(
            session=session, scope=scope, by=by, languages=languages, today=now.date(), rule=rule
        ),
    )


def report_trend(
    *,
    session: Session,
    settings: Settings,
    clinic_id: uuid.UUID,
    date_from: date | None,
    date_to: date | None,
    now: datetime,
) -> list[WeekCell]:
    """The clinic's weekly delivered and confirmed rates by language (default: the last 12 weeks)."""
    clinic = clinic_of(session, clinic_id)
    start = date_from or (now.date() - timedelta(weeks=12))
    scope = Scope(
        clinic_id=clinic_id,
        start=day_start(start, clinic.timezone),
        end=day_start(date_to, clinic.timezone),
        reply_days=settings.report_reply_days,
    )
    return weekly_trend(
        session=session, scope=scope, languages=clinic_languages(session=session, clinic=clinic)
    )
