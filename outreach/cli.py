"""The `outreach` command: serve the API, run workers, migrate, seed the demo, mint keys."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from outreach import demo as demo_data
from outreach import devrun, listening
from outreach.auth import mint_key
from outreach.cli_settings import cli_settings as _settings
from outreach.cli_settings import err
from outreach.clinics.models import Clinic, Role
from outreach.clinics.service import create_clinic as create
from outreach.config import ConfigError, Settings
from outreach.db import engine_for, session_scope
from outreach.errors import Invalid
from outreach.fhir.cli import fhir_app
from outreach.listening import carry_port, local_url
from outreach.reports.cli import report_app
from outreach.security.keys_cli import keys_app

# The server stack, Celery and the importer are imported inside the commands that need them (each marked
# `noqa: PLC0415`): they are slow imports, and `outreach --help` or `outreach key` should not pay for them.

app = typer.Typer(help="outreach: multilingual SMS patient outreach.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(fhir_app, name="fhir")
app.add_typer(report_app, name="report")
app.add_typer(keys_app, name="keys")
console = Console()


def _redis_keeps_tasks(settings: Settings) -> None:
    """Workers and the scheduler refuse an evicting Redis in production (one line, exit 2)."""
    from outreach.broker import require_noeviction  # noqa: PLC0415

    try:
        warning = require_noeviction(settings)
    except ConfigError as exc:
        err.print(f"[bold red]outreach:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    if warning:
        err.print(f"[yellow]outreach:[/] {warning}", highlight=False)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration to the configured database."""
    _settings(migrate=True)
    console.print("database is up to date")


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int, typer.Option(help="Server processes (about one per core).")] = 1,
) -> None:
    """Serve the HTTP API (migrates first in dev mode)."""
    from outreach.serving import serve as serve_app  # noqa: PLC0415

    url = local_url(host, port)
    carry_port(host=host, port=port)
    settings = _settings(migrate=True)
    try:
        devrun.require_current_schema(settings)
    except ConfigError as exc:
        err.print(f"[bold red]outreach:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    from outreach.observability.logs import dict_config  # noqa: PLC0415

    logging: dict[str, object] = {"log_config": dict_config()} if settings.log_format == "json" else {}
    listening.record(settings, url)
    try:
        serve_app(
            "outreach.main:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            **logging,
        )
    finally:
        listening.forget(settings, url)


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="Sender threads in this process.")] = 16,
    queues: str = "send,schedule",
) -> None:
    """Run a Celery worker that sends texts."""
    settings = _settings()
    _redis_keeps_tasks(settings)
    from outreach.observability.exposition import serve_worker_metrics  # noqa: PLC0415
    from workers.celery_app import app as celery  # noqa: PLC0415

    serve_worker_metrics(settings)

    celery.worker_main(devrun.worker_argv(concurrency=concurrency, queues=queues))


@app.command()
def scheduler() -> None:
    """Run Celery beat, which ticks the scheduler every few seconds."""
    settings = _settings()
    _redis_keeps_tasks(settings)
    from workers.celery_app import app as celery  # noqa: PLC0415

    celery.start(devrun.beat_argv(settings))


@app.command()
def demo() -> None:
    """Seed the demo clinic and its patients, and print fresh API keys."""
    settings = _settings(migrate=True)
    with session_scope(engine_for(settings.database_url)) as session:
        seeded = demo_data.seed_demo(session=session)
    demo_data.print_demo(console, seeded, base_url=listening.serving_url(settings))


@app.command("create-clinic")
def create_clinic(
    name: str,
    timezone: str = "America/New_York",
    phone: str = "",
    language: str = "en",
    region: str = "US",
) -> None:
    """Add a clinic and print its id."""

    settings = _settings()
    try:
        with session_scope(engine_for(settings.database_url)) as session:
            clinic = create(
                session=session,
                name=name,
                phone=phone,
                timezone=timezone,
                default_language=language,
                default_region=region,
            )
    except Invalid as exc:
        err.print(f"[bold red]outreach:[/] {exc.field}: {exc.reason}", highlight=False)
        raise typer.Exit(2) from None
    console.print(str(clinic.id))


@app.command()
def clinics() -> None:
    """List the clinics with their ids (what `create-key --clinic` and `import-patients --clinic` take)."""
    from sqlmodel import col, func, select  # noqa: PLC0415

    from outreach.patients.models import Patient  # noqa: PLC0415

    settings = _settings()
    with session_scope(engine_for(settings.database_url)) as session:
        counts = dict(
            session.exec(select(Patient.clinic_id, func.count()).group_by(col(Patient.clinic_id))).all()
        )
        found = session.exec(select(Clinic).order_by(Clinic.name)).all()
        if not found:
            console.print("no clinics yet: `outreach create-clinic NAME` or `outreach demo`")
        for clinic in found:
            patients = counts.get(clinic.id, 0)
            console.print(
                f"{clinic.id}  {clinic.name}  ({patients} patients)", highlight=False, soft_wrap=True
            )


@app.command("create-key")
def create_key(
    clinic: Annotated[uuid.UUID, typer.Option(help="The clinic's id.")],
    role: Annotated[Role, typer.Option(help="admin or coordinator.")],
    name: str = "",
) -> None:
    """Mint an API key for a clinic and print it (it is shown only once)."""

    settings = _settings()
    with session_scope(engine_for(settings.database_url)) as session:
        if session.get(Clinic, clinic) is None:
            err.print(f"[bold red]outreach:[/] clinic {clinic} does not exist", highlight=False)
            raise typer.Exit(2)
        key = mint_key(session=session, clinic_id=clinic, role=role, name=name)
    console.print(key, highlight=False)


@app.command("import-patients")
def import_patients(
    file: Annotated[Path, typer.Argument(help="A CSV file with a header row, or a JSON list of records.")],
    clinic: Annotated[uuid.UUID, typer.Option(help="The clinic's id.")],
) -> None:
    """Import patients (upsert on the clinic's external id); bad rows are listed with their line."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn  # noqa: PLC0415

    from outreach.patients.importing import import_file  # noqa: PLC0415

    settings = _settings()
    engine = engine_for(settings.database_url)
    if not file.is_file():
        err.print(f"[bold red]outreach:[/] {file} is not a file", highlight=False)
        raise typer.Exit(2)
    with session_scope(engine) as session:
        if session.get(Clinic, clinic) is None:
            err.print(f"[bold red]outreach:[/] clinic {clinic} does not exist", highlight=False)
            raise typer.Exit(2)
    columns = (TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("import", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            report = import_file(engine=engine, clinic_id=clinic, path=file, progress=progress)
        except Invalid as exc:  # the file as a whole cannot be read (bad JSON, no CSV header)
            err.print(f"[bold red]outreach:[/] {file}: {exc.field} {exc.reason}", highlight=False)
            raise typer.Exit(2) from exc
        except UnicodeDecodeError as exc:
            err.print(f"[bold red]outreach:[/] {file} is not UTF-8 text (byte {exc.start})", highlight=False)
            raise typer.Exit(2) from exc
    console.print(
        f"created {report.created}, updated {report.updated}, unchanged {report.unchanged}, "
        f"rejected {len(report.errors)}",
        highlight=False,
    )
    for rejected in report.errors:  # to the operator's own terminal, never to a log
        err.print(f"line {rejected.line}: {rejected.field}: {rejected.reason}", highlight=False)
    if report.errors:
        raise typer.Exit(1)


@app.command()
def up(port: int = 8000) -> None:
    """Migrate, seed the demo, and run the API, a worker and the scheduler together (Ctrl-C stops all)."""
    carry_port(host="127.0.0.1", port=port)  # the worker and scheduler inherit it too
    settings = _settings(migrate=True)
    with session_scope(engine_for(settings.database_url)) as session:
        seeded = demo_data.seed_demo(session=session)
    raise typer.Exit(devrun.run_all(console, seeded, port=port))


if __name__ == "__main__":
    app()
