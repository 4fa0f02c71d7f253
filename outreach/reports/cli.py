"""`outreach report outcomes`: the outcome report for scripts (CSV) and for people (a table)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from outreach.cli_settings import err
from outreach.reports import figures
from outreach.reports.schemas import GroupOut, RateOut, ReportOut

report_app = typer.Typer(help="Outcome and equity reports.", no_args_is_help=True)
console = Console()


def _pct(rate: RateOut | None) -> str:
    if rate is None or rate.rate is None:
        return "—"
    assert rate.ci_low is not None
    assert rate.ci_high is not None
    shown = f"{rate.rate:.0%} ({rate.ci_low:.0%}–{rate.ci_high:.0%}) of {rate.denominator}"
    return f"[bold red]{shown} ⚑[/]" if rate.flag else shown


def _count(group: GroupOut, name: str) -> str:
    value = group.counts.get(name)
    if value is not None:
        return str(value)
    return "<11" if group.suppressed.get(name) == "small_cell" else "suppressed"


def print_table(report: ReportOut) -> None:
    """The report as a table on the terminal."""
    rates = [r for r in figures.RATES if r.name in report.total.rates]
    title = report.campaign_name or "All texts"
    table = Table(title=f"{title}, by {report.by}")
    for heading in ("Group", "Targeted", "Sent", "Delivered", *(r.label for r in rates)):
        table.add_column(heading)
    for group in [*report.groups, report.total]:
        table.add_row(
            group.label,
            *(_count(group, n) for n in ("targeted", "sent", "delivered")),
            *(_pct(group.rates.get(r.name)) for r in rates),
        )
    console.print(table)
    if report.journeys is not None:
        print_journeys(report)
    if report.computed_at is not None:
        as_of = f"{report.computed_at:%Y-%m-%d %H:%M} UTC"
        console.print(f"Counts as of {as_of} (the campaign's stored summary).", highlight=False)
    rule = report.rule
    console.print(
        f"⚑ flagged: at least {rule.threshold_pp:g} points below the best-served group "
        f"(groups of {rule.min_group_size}+), p < {rule.alpha:g}; counts 1–10 shown as <11.",
        highlight=False,
    )


def print_journeys(report: ReportOut) -> None:
    """The report's journey outcomes as a second table."""
    assert report.journeys is not None
    shown = report.journeys
    labels = {f.name: f.label for f in figures.JOURNEY_COUNTS}
    table = Table(title=f"Journeys, by {shown.by}")
    for heading in ("Group", *(labels[n] for n in shown.counts), *(r.label for r in figures.JOURNEY_RATES)):
        table.add_column(heading)
    for group in [*shown.groups, shown.total]:
        table.add_row(
            group.label,
            *(_count(group, n) for n in shown.counts),
            *(_pct(group.rates.get(r.name)) for r in figures.JOURNEY_RATES),
        )
    console.print(table)


@report_app.command("outcomes")
def outcomes(
    campaign: Annotated[uuid.UUID | None, typer.Option(help="A campaign's id.")] = None,
    clinic: Annotated[uuid.UUID | None, typer.Option(help="A clinic id (its texts in a range).")] = None,
    by: Annotated[str, typer.Option(help=", ".join(figures.DIMENSIONS))] = "language",
    date_from: Annotated[str | None, typer.Option("--from", help="first day, YYYY-MM-DD")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="day after the last, YYYY-MM-DD")] = None,
    csv: Annotated[bool, typer.Option("--csv", help="CSV on standard output")] = False,
) -> None:
    """The outcome and equity report of a campaign (or a clinic's texts over a date range)."""
    # Here, not at the top: `outreach --help` should not load the database stack (and outreach.cli
    # imports this module).
    from outreach.campaigns.models import Campaign  # noqa: PLC0415
    from outreach.cli_settings import cli_settings  # noqa: PLC0415
    from outreach.db import engine_for, session_scope, utcnow  # noqa: PLC0415
    from outreach.errors import DomainError  # noqa: PLC0415
    from outreach.reports.build import outcome_report  # noqa: PLC0415
    from outreach.reports.csv_out import to_csv  # noqa: PLC0415

    settings = cli_settings()
    with session_scope(engine_for(settings.database_url)) as session:
        found = session.get(Campaign, campaign) if campaign else None
        clinic_id = found.clinic_id if found else clinic
        if clinic_id is None:
            err.print("[bold red]outreach:[/] give --campaign ID (or --clinic ID)", highlight=False)
            raise typer.Exit(2)
        try:
            report = outcome_report(
                session=session,
                settings=settings,
                clinic_id=clinic_id,
                by=by,
                campaign_id=campaign,
                date_from=date.fromisoformat(date_from) if date_from else None,
                date_to=date.fromisoformat(date_to) if date_to else None,
                now=utcnow(),
            )
        except (DomainError, ValueError) as exc:
            err.print(f"[bold red]outreach:[/] {getattr(exc, 'detail', exc)}", highlight=False)
            raise typer.Exit(2) from None
    if csv:
        typer.echo(to_csv(report), nl=False)
    else:
        print_table(report)


@report_app.command("summaries")
def summaries() -> None:
    """Build or refresh the stored report summaries of large campaigns now (what Celery beat runs)."""
    from outreach.cli_settings import cli_settings  # noqa: PLC0415  (see `outcomes`)
    from outreach.db import engine_for, utcnow  # noqa: PLC0415
    from outreach.reports.periodic import refresh_campaigns  # noqa: PLC0415

    settings = cli_settings()
    done = refresh_campaigns(
        engine=engine_for(settings.database_url), now=utcnow(), reply_days=settings.report_reply_days
    )
    console.print(", ".join(f"{name}: {n}" for name, n in done.items()), highlight=False)
