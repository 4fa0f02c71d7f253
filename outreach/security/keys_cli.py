"""`outreach keys rotate`: rewrite every stored phone number (and patient birth date and ZIP code) under the
newest keys."""

from __future__ import annotations

import typer
from rich.console import Console

from outreach.cli_settings import cli_settings
from outreach.db import engine_for
from outreach.security import crypto, rotation

keys_app = typer.Typer(
    help="Keys of the phone numbers, birth dates and ZIP codes stored encrypted.", no_args_is_help=True
)
console = Console()


@keys_app.command("rotate")
def rotate() -> None:
    """Re-encrypt every stored number, birth date and ZIP code under the first of OUTREACH_PHI_KEYS and
    recompute each number's blind index under the first of OUTREACH_PHI_INDEX_KEYS (the old keys can be
    removed afterwards)."""
    settings = cli_settings(migrate=True)
    counts = rotation.rotate(engine=engine_for(settings.database_url), keyring=crypto.active())
    for table, count in counts.items():
        console.print(f"{table}: {count} rows under the newest keys")
    console.print("done: the keys after the first ones can now be removed")
