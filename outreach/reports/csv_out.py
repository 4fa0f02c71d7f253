"""The outcome report as CSV: `#` lines first, saying what the report covers and what each column means."""

from __future__ import annotations

import csv
import io

from outreach.reports import figures
from outreach.reports.schemas import GroupOut, ReportOut
from outreach.reports.stats import Suppressed

SHOWN = {Suppressed.SMALL_CELL.value: "<11", Suppressed.COMPLEMENTARY.value: "suppressed"}
_BY_NAME = {f.name: f for f in figures.COUNTS}


def _rate_names(report: ReportOut) -> list[str]:
    return [r.name for r in figures.RATES if r.name in report.total.rates]


def columns(report: ReportOut) -> list[tuple[str, str]]:
    """(column, meaning) in order."""
    out = [("group", f"group key: {report.by_meaning}"), ("group_label", "the group's name")]
    out += [(name, _BY_NAME[name].definition) for name in report.counts]
    for rate in figures.RATES:
        if rate.name not in report.total.rates:
            continue
        out.append((f"{rate.name}_rate", f"{rate.label}: {rate.numerator} / {rate.denominator}"))
        out.append((f"{rate.name}_ci_low", "Wilson 95% interval, lower bound"))
        out.append((f"{rate.name}_ci_high", "Wilson 95% interval, upper bound"))
        if rate.flagged:
            out.append((f"{rate.name}_flag", "FLAG: gap in points below the best-served group, p-value"))
    out += [(figures.COST.name, figures.COST.definition), ("cost_per_patient", "estimated spend ÷ targeted")]
    return out


def _row(report: ReportOut, group: GroupOut) -> list[str]:
    cells = [group.key, group.label]
    for name in report.counts:
        value = group.counts.get(name)
        cells.append(SHOWN.get(group.suppressed.get(name, ""), "") if value is None else str(value))
    for name in _rate_names(report):
        rate = group.rates[name]
        cells += ["" if v is None else f"{v:.4f}" for v in (rate.rate, rate.ci_low, rate.ci_high)]
        if next(r for r in figures.RATES if r.name == name).flagged:
            flag = rate.flag
            cells.append(f"{flag.gap_pp:.1f} pp below {flag.reference}; p={flag.p_value:.2g}" if flag else "")
    cells.append("" if group.estimated_cost is None else f"{group.estimated_cost:.2f}")
    cells.append("" if group.cost_per_patient is None else f"{group.cost_per_patient:.4f}")
    return cells


def to_csv(report: ReportOut) -> str:
    """The report as CSV text."""
    buffer = io.StringIO()
    scope = f"campaign {report.campaign_name} ({report.campaign_id})" if report.campaign_id else "clinic"
    span = f" from {report.date_from or '…'} to {report.date_to or '…'}" if not report.campaign_id else ""
    rule = report.rule
    buffer.write(
        f"# outreach outcome report: {scope}{span}, by {report.by}; generated {report.generated_at}\n"
    )
    if report.computed_at is not None:
        buffer.write(f"# counts as of {report.computed_at} (the campaign's stored summary)\n")
    buffer.write(
        f"# reply window {rule.reply_days} days; flag: at least {rule.threshold_pp:g} points below the "
        f"best-served group of at least {rule.min_group_size} patients and p < {rule.alpha:g} "
        f"(two-proportion z-test); counts of 1-10 shown as <11, and counts that would reveal one as "
        f"'suppressed'\n"
    )
    cols = columns(report)
    for name, meaning in cols:
        buffer.write(f"# {name}: {meaning}\n")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([name for name, _ in cols])
    for group in [*report.groups, report.total]:
        writer.writerow(_row(report, group))
    return buffer.getvalue()
