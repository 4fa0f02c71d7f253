"""Starting processes: start-up checks, worker and beat arguments, and `outreach up`."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from types import FrameType

from rich.console import Console
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from outreach import migrate as migrations
from outreach.config import ConfigError, Settings
from outreach.db import engine_for
from outreach.demo import DemoSeed, print_demo
from outreach.listening import answers, local_url


def _safe_url(settings: Settings) -> str:
    return make_url(settings.database_url).render_as_string(hide_password=True)


def check_database(settings: Settings) -> None:
    """Raise ConfigError with one line when the database cannot be reached."""
    try:
        with engine_for(settings.database_url).connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise ConfigError(
            f"cannot reach the database at {_safe_url(settings)} ({reason}); check OUTREACH_DATABASE_URL"
        ) from None


def migrate(settings: Settings) -> None:
    """Apply migrations in dev mode; production runs `outreach db upgrade` as its own step."""
    if settings.env == "dev" and settings.auto_migrate:
        migrations.upgrade(settings.database_url)


def require_current_schema(settings: Settings) -> None:
    """Raise ConfigError when the schema is behind (production migrates as a separate step)."""
    if not migrations.is_current(settings.database_url):
        raise ConfigError("the database schema is not current; run `outreach db upgrade` first")


def worker_argv(*, concurrency: int, queues: str) -> list[str]:
    """Arguments for a sender worker: threads, because sending is waiting on the network."""
    return [
        "worker", "--pool=threads", f"--concurrency={concurrency}", f"--queues={queues}",
        "--without-gossip", "--without-mingle", "--loglevel=INFO",
    ]  # fmt: skip


def beat_argv(settings: Settings) -> list[str]:
    """Arguments for Celery beat, keeping its schedule file in the data folder."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return ["beat", f"--schedule={settings.data_dir / 'celerybeat-schedule'}", "--loglevel=WARNING"]


def run_all(console: Console, seed: DemoSeed, *, port: int) -> int:
    """Run the API, one worker and the scheduler until Ctrl-C, then stop all three."""
    base = [sys.executable, "-m", "outreach"]
    commands = {
        "api": [*base, "serve", "--port", str(port)],
        "worker": [*base, "worker", "--concurrency", "8"],
        "scheduler": [*base, "scheduler"],
    }
    children = {name: subprocess.Popen(cmd) for name, cmd in commands.items()}  # noqa: S603
    stopping = False

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    url = local_url("127.0.0.1", port)
    deadline = time.monotonic() + 60  # the keys are printed once the web app answers at this URL
    while not stopping and not answers(url) and time.monotonic() < deadline:
        if children["api"].poll() is not None:
            break
        time.sleep(0.2)
    print_demo(console, seed, base_url=url)
    console.print("Press Ctrl-C to stop.")
    while not stopping and all(child.poll() is None for child in children.values()):
        time.sleep(0.5)
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + 15
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    console.print("stopped api, worker and scheduler")
    return 0
