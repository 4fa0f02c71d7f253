"""`outreach fhir …`: import FHIR files, and sync a clinic from its FHIR server."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.engine import Engine

from outreach.config import ConfigError, load_settings
from outreach.db import engine_for, session_scope, utcnow

fhir_app = typer.Typer(
    help="FHIR R4: import Bundles and Bulk NDJSON, sync from the clinic's EHR.", no_args_is_help=True
)
console = Console()
err = Console(stderr=True, soft_wrap=True)


def _engine() -> Engine:
    from outreach import devrun  # noqa: PLC0415

    try:
        settings = load_settings()
        devrun.check_database(settings)
    except ConfigError as exc:
        err.print(f"[bold red]outreach:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    return engine_for(settings.database_url)


@fhir_app.command("import")
def import_files(
    paths: Annotated[list[Path], typer.Argument(help="FHIR R4 Bundle JSON files or Bulk Data NDJSON files.")],
    clinic: Annotated[uuid.UUID, typer.Option(help="The clinic's id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")] = False,
    source: Annotated[
        str, typer.Option(help="Where the files come from (default: the clinic's FHIR server, else 'file').")
    ] = "",
) -> None:
    """Import Patients and Appointments (an idempotent upsert); rejected and skipped ones are listed."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn  # noqa: PLC0415

    from outreach.clinics.models import Clinic  # noqa: PLC0415
    from outreach.errors import Invalid  # noqa: PLC0415
    from outreach.fhir import connections  # noqa: PLC0415
    from outreach.fhir.importing import import_paths  # noqa: PLC0415

    engine = _engine()
    missing = [p for p in paths if not p.is_file()]
    if missing:
        err.print(f"[bold red]outreach:[/] {missing[0]} is not a file", highlight=False)
        raise typer.Exit(2)
    columns = (TextColumn("importing"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True, disable=as_json) as bar:
        task = bar.add_task("import", total=sum(p.stat().st_size for p in paths))
        try:
            with session_scope(engine) as session:
                found = session.get(Clinic, clinic)
                if found is None:
                    err.print(f"[bold red]outreach:[/] clinic {clinic} does not exist", highlight=False)
                    raise typer.Exit(2)
                connection = connections.find(session=session, clinic_id=clinic)
                summary = import_paths(
                    session=session,
                    clinic=found,
                    paths=paths,
                    now=utcnow(),
                    source=source or (connection.base_url if connection else "file"),
                    mrn_system=connection.mrn_system if connection else "",
                    progress=lambda n: bar.advance(task, n),
                )
        except Invalid as exc:
            err.print(f"[bold red]outreach:[/] {exc.field} {exc.reason}", highlight=False)
            raise typer.Exit(2) from None
    if as_json:
        print(summary.model_dump_json())
    else:
        for kind, counts in summary.counts.items():
            console.print(
                f"{kind}: created {counts.created}, updated {counts.updated}, unchanged {counts.unchanged}, "
                f"skipped {counts.skipped}, rejected {counts.rejected}",
                highlight=False,
            )
        events = summary.events
        if any(events.model_dump().values()):
            console.print(
                f"events: recorded {events.recorded}, corrected {events.corrected}, "
                f"deleted {events.deleted}, history {events.history}; "
                f"journeys started {events.journeys_started}",
                highlight=False,
            )
        for note in summary.rejected:
            err.print(f"rejected {note.resource_type}/{note.id}: {note.reason}", highlight=False)
        for note in summary.skipped:
            err.print(f"skipped {note.resource_type}/{note.id}: {note.reason}", highlight=False)
        for note in summary.not_textable:
            err.print(f"not textable {note.resource_type}/{note.id}: {note.reason}", highlight=False)
    if summary.rejected:
        raise typer.Exit(1)


@fhir_app.command("sync")
def sync(clinic: Annotated[uuid.UUID, typer.Option(help="The clinic's id.")]) -> None:
    """Sync the clinic's upcoming appointments and their patients from its FHIR server, then write back."""
    import httpx  # noqa: PLC0415

    from outreach.errors import NotFound  # noqa: PLC0415
    from outreach.fhir import writeback  # noqa: PLC0415
    from outreach.fhir.sync import run_sync  # noqa: PLC0415

    engine = _engine()
    try:
        run = run_sync(engine=engine, clinic_id=clinic, redis_url=load_settings().redis_url)
    except NotFound:
        err.print(f"[bold red]outreach:[/] clinic {clinic} has no FHIR connection", highlight=False)
        raise typer.Exit(2) from None
    if run is None:
        err.print("[bold red]outreach:[/] a sync of this clinic is already running", highlight=False)
        raise typer.Exit(1)
    if run.error:
        err.print(f"[bold red]outreach:[/] sync failed: {run.error}", highlight=False)
        raise typer.Exit(1)
    console.print(f"sync {run.id}: {run.counts}", highlight=False)
    with httpx.Client(timeout=30) as http:
        console.print(
            f"write-back: {writeback.run(engine=engine, clinic_id=clinic, http=http)}", highlight=False
        )
