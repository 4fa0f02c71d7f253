"""`python -m outreach` is the `outreach` command."""

from outreach.cli import app

app()
