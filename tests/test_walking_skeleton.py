"""End to end: API → outbox row → scheduler claims → a real Celery worker sends → status sent."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach.config import Settings
from outreach.main import create_app
from outreach.security.crypto import indexed
from outreach.sms.models import SimulatedSms
from tests.conftest import _truncate_all
from tests.factories import auth, create_clinic, create_key, create_patient
from tests.processes import outreach_env, running, wait_for

pytestmark = pytest.mark.slow


def _drive(client: TestClient, engine: Engine, *, env: dict[str, str], logs: Path) -> None:
    clinic = create_clinic(engine)
    patient = create_patient(engine, clinic, phone="+12025550123", language="es-MX")
    key = create_key(engine, clinic)
    created = client.post(
        "/admin/messages",
        headers=auth(key),
        json={"patient_id": str(patient.id), "body": "Hola Ana, su cita es mañana a las 10:00."},
    )
    assert created.status_code == 201, created.text
    message = created.json()
    assert message["status"] == "scheduled"
    assert message["language"] == "es", "the language stored is the catalog the patient's es-MX negotiates to"

    def status() -> str:
        got: str = client.get(f"/admin/messages/{message['id']}", headers=auth(key)).json()["status"]
        return got

    with running({"worker": ["worker", "--concurrency", "4"], "scheduler": ["scheduler"]}, env, logs):
        wait_for(lambda: status() == "sent", timeout_s=60, what="the text to be sent")
    final = client.get(f"/admin/messages/{message['id']}", headers=auth(key)).json()
    assert final["provider_sid"].startswith("SM")
    assert final["attempts"] == 1
    with Session(engine) as session:
        received = session.exec(
            select(SimulatedSms).where(indexed(col(SimulatedSms.to_hash), "+12025550123"))
        ).all()
    assert [r.body for r in received] == ["Hola Ana, su cita es mañana a las 10:00."]


def test_embedded_default_sqlite_and_filesystem_broker(tmp_path: Path, sqlite_template: Path) -> None:
    db = tmp_path / "outreach.db"
    db.write_bytes(sqlite_template.read_bytes())
    url = f"sqlite:///{db}"
    settings = Settings(_env_file=None, database_url=url, data_dir=tmp_path / "var")
    env = outreach_env(database_url=url, broker_url="filesystem://", data_dir=tmp_path / "var")
    app = create_app(settings)
    with TestClient(app) as client:
        _drive(client, app.state.engine, env=env, logs=tmp_path / "logs")


def test_production_shape_postgres_and_redis(tmp_path: Path, pg_database: str, redis_url: str) -> None:
    redis.Redis.from_url(redis_url).flushdb()
    settings = Settings(_env_file=None, database_url=pg_database, broker_url=redis_url, data_dir=tmp_path)
    app = create_app(settings)
    _truncate_all(app.state.engine)
    env = outreach_env(database_url=pg_database, broker_url=redis_url, data_dir=tmp_path / "var")
    with TestClient(app) as client:
        _drive(client, app.state.engine, env=env, logs=tmp_path / "logs")
