"""Health reports what is down; migrations and models agree on every backend."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi.testclient import TestClient

from outreach import migrate
from outreach.config import Settings
from outreach.main import create_app


def test_health_ok_on_the_embedded_default(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok", "gateway": "simulator"}


def test_health_reports_an_unreachable_broker(settings: Settings) -> None:
    broken = settings.model_copy(update={"broker_url": "redis://127.0.0.1:1/0"})
    with TestClient(create_app(broken)) as client:
        response = client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["database"] == "ok"
    assert body["broker"].startswith("unreachable")


def test_health_with_redis_broker(settings: Settings, redis_url: str) -> None:
    with TestClient(create_app(settings.model_copy(update={"broker_url": redis_url}))) as client:
        assert client.get("/health").json()["broker"] == "ok"


def test_models_match_migrations(database_url: str) -> None:
    migrate.check(database_url)  # raises alembic.util.CommandError on any difference
    assert migrate.is_current(database_url)


def test_fresh_database_is_not_current_until_upgraded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/fresh.db"
    assert not migrate.is_current(url)
    migrate.upgrade(url)
    assert migrate.is_current(url)


def test_access_log_lines_never_carry_a_phone_number(settings: Settings) -> None:
    create_app(settings)  # installs the filter, as `outreach serve` does
    access = logging.getLogger("uvicorn.access")
    record = access.makeRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", "/simulator/phones/%2B12025550101/reply?to=+12025550102", "1.1", 200),
        None,
    )
    assert access.filter(record)  # runs the logger's filters on the record, as emitting would
    line = record.getMessage()
    assert "2025550101" not in line
    assert "2025550102" not in line
    assert "/simulator/phones/[phone]/reply" in line
    assert "127.0.0.1:5000" in line  # addresses and ports are not phone numbers
