"""What the Reports page draws: funnel bars and weekly small multiples, as numbers for SVG templates.

Geometry is computed here, so the templates only place rectangles and text; every figure drawn is also
in the table under it (screen readers and CSV read the same numbers).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from outreach.reports import figures
from outreach.reports.schemas import GroupOut, ReportOut, WeekCell

BAR_WIDTH = 320  # px of the longest bar (the group's targeted patients)


@dataclass(frozen=True, slots=True)
class Bar:
    """One funnel stage of one group."""

    name: str
    label: str
    shown: str  # "120", "<11" or "suppressed"
    share: str  # "72%" of targeted, or ""
    width: float
    hidden: bool


@dataclass(frozen=True, slots=True)
class Funnel:
    """One group's funnel."""

    group: GroupOut
    bars: list[Bar]
    flags: list[str]  # sentences


def stages(kind: str) -> list[str]:
    """The funnel's stages for a campaign kind."""
    last = {"reminder": ["confirmed"], "checkin": ["answered_3_worse"]}.get(kind, [])
    return ["targeted", "sent", "delivered", "replied", *last]


def _shown(group: GroupOut, name: str) -> str:
    value = group.counts.get(name)
    if value is not None:
        return f"{value:,}"
    return "<11" if group.suppressed.get(name) == "small_cell" else "suppressed"


def funnel(report: ReportOut, group: GroupOut) -> Funnel:
    """Bars for a group, as a share of its targeted patients."""
    labels = {f.name: f.label for f in figures.COUNTS}
    targeted = group.counts.get("targeted")
    bars = []
    for name in stages(report.kind):
        value = group.counts.get(name)
        share = value / targeted if value is not None and targeted else None
        bars.append(
            Bar(
                name=name,
                label=labels[name],
                shown=_shown(group, name),
                share="" if share is None else f"{share:.0%}",
                width=round(BAR_WIDTH * share, 1) if share is not None else 0.0,
                hidden=value is None,
            )
        )
    rates = {r.name: r.label for r in figures.RATES}
    flags = []
    for name in group.flagged:
        rate = group.rates[name]
        assert rate.flag is not None
        flags.append(
            f"{rates[name]}: {rate.flag.gap_pp:.1f} points below {rate.flag.reference_label} "
            f"(p = {rate.flag.p_value:.2g})"
        )
    return Funnel(group=group, bars=bars, flags=flags)


@dataclass(frozen=True, slots=True)
class TrendRow:
    """One language's weeks: (week, delivered rate or None, confirmed rate or None)."""

    key: str
    label: str
    weeks: list[tuple[date, float | None, float | None]]


def trend_rows(cells: list[WeekCell]) -> tuple[list[date], list[TrendRow]]:
    """Weeks (oldest first) and one row per language, most texts first."""
    weeks = sorted({c.week for c in cells})
    by_key: dict[str, dict[date, WeekCell]] = defaultdict(dict)
    volume: dict[str, int] = defaultdict(int)
    labels: dict[str, str] = {}
    for c in cells:
        by_key[c.key][c.week] = c
        volume[c.key] += c.texts_sent or 0
        labels[c.key] = c.label
    rows = []
    for key in sorted(by_key, key=lambda k: (-volume[k], labels[k])):
        found = by_key[key]
        rows.append(
            TrendRow(
                key=key,
                label=labels[key],
                weeks=[
                    (
                        w,
                        found[w].delivered_rate if w in found else None,
                        found[w].confirmed_rate if w in found else None,
                    )
                    for w in weeks
                ],
            )
        )
    return weeks, rows
