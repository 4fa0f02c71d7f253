"""What every CLI command starts with: settings that can work and a reachable database, or one clear line."""

from __future__ import annotations

import typer
from rich.console import Console

from outreach import devrun
from outreach.config import ConfigError, Settings, load_settings
from outreach.security import crypto

err = Console(stderr=True, soft_wrap=True)  # one line per error, whatever the terminal width


def cli_settings(*, migrate: bool = False) -> Settings:
    """Settings that can work, and a reachable database; otherwise one clear line and exit 2."""
    try:
        settings = load_settings()
        crypto.use(settings)
        devrun.check_database(settings)
        if migrate:
            devrun.migrate(settings)
    except ConfigError as exc:
        err.print(f"[bold red]outreach:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    return settings
