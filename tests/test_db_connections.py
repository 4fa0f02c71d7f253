"""Connections on PostgreSQL: no ping per request, yet a connection the server closed never fails a request;
reads hold no transaction open."""

from __future__ import annotations

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.pq import TransactionStatus
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from outreach.db import reader
from tests.factories import auth, create_clinic, create_key


def _postgres_only(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no server to drop connections or transactions to skip")


def _restart_drops_every_connection(engine: Engine) -> None:
    """What a database restart does to every open connection of the pool."""
    with psycopg.connect(engine.url.set(drivername="postgresql").render_as_string(False)) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def test_a_read_after_the_database_dropped_its_connections_is_answered(
    client: TestClient, engine: Engine
) -> None:
    _postgres_only(engine)
    headers = auth(create_key(engine, create_clinic(engine)))
    assert client.get("/admin/campaigns", headers=headers).status_code == 200
    _restart_drops_every_connection(engine)

    answers = [client.get("/admin/campaigns", headers=headers).status_code for _ in range(3)]

    assert answers == [200, 200, 200]


def test_a_read_runs_outside_a_transaction_and_a_write_inside_one(engine: Engine) -> None:
    _postgres_only(engine)
    with Session(reader(engine)) as session:
        assert session.execute(text("SELECT 1")).scalar_one() == 1
        raw = session.connection().connection.driver_connection
        assert isinstance(raw, psycopg.Connection)
        assert raw.info.transaction_status == TransactionStatus.IDLE  # no BEGIN was sent
    with Session(engine) as session:
        session.execute(text("SELECT 1"))
        raw = session.connection().connection.driver_connection
        assert isinstance(raw, psycopg.Connection)
        assert raw.info.transaction_status == TransactionStatus.INTRANS
