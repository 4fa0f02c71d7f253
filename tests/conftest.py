"""Test fixtures on real servers: PostgreSQL and Redis on this machine, SQLite files for the embedded path.

Locally, a missing server skips its tests with a loud reason; with CI=true it fails them.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine

from outreach import migrate
from outreach.config import Settings
from outreach.db import engine_for
from outreach.i18n import catalogs
from outreach.main import create_app
from outreach.models import metadata

# One keyring for the test process and every outreach process it starts (tests/processes.py passes these
# on), so rows a test writes are readable by the workers and servers it runs.
TEST_PHI_KEYS = "3o0MUVxKD9v5u5Bd7ZcQm2C0m8xw4xhw6l2aTGtq0nE="
TEST_PHI_INDEX_KEYS = "test-index-key-7Gv2kQ9sLx4pW1zR8mN3bT6yH0cJ5fD"
os.environ.setdefault("OUTREACH_PHI_KEYS", TEST_PHI_KEYS)
os.environ.setdefault("OUTREACH_PHI_INDEX_KEYS", TEST_PHI_INDEX_KEYS)

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_ADMIN_DSN = os.environ.get("OUTREACH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("OUTREACH_TEST_REDIS", "redis://127.0.0.1:6379/9")


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogs() -> None:
    """Build the .mo files from the committed .po files (they are not committed themselves)."""
    catalogs.compile_all()


def _missing(server: str, reason: str) -> None:
    message = f"{server} is not reachable ({reason}); start it (see README) or these tests do not run"
    if IN_CI:
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(f"!!! {message}")


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated to head; dropped afterwards."""
    name = f"outreach_test_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        _missing("PostgreSQL at 127.0.0.1:5432", str(exc).splitlines()[0])
    url = PG_ADMIN_DSN.replace("postgresql://", "postgresql+psycopg://").rsplit("/", 1)[0] + f"/{name}"
    migrate.upgrade(url)
    yield url
    engine_for(url).dispose()
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies (migrating once is much faster)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "outreach.db"
    migrate.upgrade(f"sqlite:///{path}")
    engine_for(f"sqlite:///{path}").dispose()
    return path


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The test Redis database (number 9), flushed by the tests that use it."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        _missing("Redis at 127.0.0.1:6379", str(exc))
    return REDIS_URL


def _truncate_all(engine: Engine) -> None:
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} CASCADE"))


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database: a SQLite file, then PostgreSQL (truncated before each test)."""
    if request.param == "sqlite":
        path = tmp_path / "outreach.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_database")
    _truncate_all(engine_for(url))
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Embedded-default settings pointing at the test database."""
    return Settings(_env_file=None, database_url=database_url, data_dir=tmp_path / "var")


@pytest.fixture
def engine(settings: Settings) -> Engine:
    """The engine for the test database."""
    return engine_for(settings.database_url)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The API, in-process."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client
