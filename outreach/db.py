"""Database engine, sessions and the column types every model shares."""

from __future__ import annotations

import os
import select
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, create_engine


def utcnow() -> datetime:
    """The current time, aware, in UTC (freezegun-friendly)."""
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    """A new random primary key."""
    return uuid.uuid4()


def time_ordered_id() -> uuid.UUID:
    """A UUIDv7 (RFC 9562): millisecond time first, then 74 random bits.

    For append-heavy tables (texts out and in, thread events): new rows land at the right edge of the
    primary-key index instead of on a random page, which keeps inserts in cache and the WAL small.
    """
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return uuid.UUID(int=value)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no offset, so store naive UTC there)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the API read while a worker writes; busy_timeout makes writers queue instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str) -> Engine:
    """Create an engine for a database URL, with the settings each backend needs."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # Room for every sender thread of a worker (16 by default) and the API's busy moments without
    # overflow: an overflow connection is closed when it is returned, and opening one costs PostgreSQL a
    # new backend process. Connections are opened only as they are first needed.
    # No ping before every checkout (a round trip per request). A connection the server has closed (a
    # restart, an idle timeout) has its goodbye waiting on the socket, which a zero-timeout poll sees;
    # one idle for a while is pinged too (a firewall drops silently). Either way a dead connection is
    # replaced before use: the pool retries the checkout on DisconnectionError.
    engine = create_engine(url, pool_size=20, max_overflow=20, pool_recycle=3600)
    event.listen(engine, "checkin", _note_idle)
    event.listen(engine, "checkout", _check_alive)
    return engine


IDLE_PING_S = 30.0  # a connection unused this long may have been dropped without a word


def _note_idle(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _check_alive(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    if dbapi_connection.closed:
        raise DisconnectionError("connection closed")
    readable, _, _ = select.select([dbapi_connection.pgconn.socket], [], [], 0)
    if readable:  # nothing is due on an idle connection: the server said goodbye (or the socket broke)
        raise DisconnectionError("the server closed this connection")
    since = record.info.get("idle_since")
    if since is None or time.monotonic() - since < IDLE_PING_S:
        return
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        dbapi_connection.rollback()
    except Exception as exc:  # any failure here means this connection cannot serve the request
        raise DisconnectionError("connection lost while idle") from exc


def reader(engine: Engine) -> Engine:
    """The same pool, for work that only reads: no BEGIN and ROLLBACK round trips around it.

    Each statement sees the data committed when it starts (autocommit), which is what a page or an API
    read shows anyway; anything that writes uses `engine` and its transaction.
    """
    if engine.dialect.name != "postgresql":
        return engine
    return _readers.setdefault(engine, engine.execution_options(isolation_level="AUTOCOMMIT"))


_readers: dict[Engine, Engine] = {}


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """One engine per database URL per process."""
    return make_engine(url)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
