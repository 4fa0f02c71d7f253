"""Running one inbound text's unit of work (`service`): on a session, or on PostgreSQL on the event loop.

The inbound webhook is the busiest route of the service and Twilio waits on it. On PostgreSQL it runs on
the event loop with its own pool of psycopg connections, in two round trips and no thread: `LOOKUP` (a
prepared statement), then the planned writes as one multi-statement query, which PostgreSQL runs as one
implicit transaction, committed when the last statement succeeds and rolled back whole if any fails.
The SQL is the same SQLAlchemy statements the session path runs, compiled once for PostgreSQL; their
values are bound by psycopg's client-side binding, which quotes them as the server would. A STOP or
START changes consent through the patients service, which needs a session: those (rare) texts take the
session path in a worker thread, as every text does on SQLite.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any

from fastapi.concurrency import run_in_threadpool
from psycopg import AsyncClientCursor
from psycopg.errors import UniqueViolation
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.engine import Engine
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ClauseElement
from sqlmodel import Session

from outreach.db import utcnow
from outreach.inbox.service import (
    LOOKUP,
    DuplicateInbound,
    IncomingSms,
    Received,
    Write,
    lookup_params,
    plan,
    receive,
)

_DIALECT = psycopg_dialect()  # type: ignore[no-untyped-call]  # SQLAlchemy leaves it unannotated


class SessionReceiver:
    """Each text in a worker thread on a SQLAlchemy session (SQLite, and STOP/START everywhere)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def receive(self, sms: IncomingSms) -> Received | None:
        """Store and act on the text; None when its SID was already stored (a replay: no second effect)."""
        return await run_in_threadpool(self._receive_and_commit, sms)

    def _receive_and_commit(self, sms: IncomingSms) -> Received | None:
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                received = receive(session=session, sms=sms, now=utcnow())
                session.commit()
            except DuplicateInbound:
                session.rollback()
                return None
        return received

    async def close(self) -> None:
        """Nothing of its own to release: the engine belongs to the app."""


class _Compiled:
    """A statement as PostgreSQL SQL for psycopg, with the values its literals carry."""

    __slots__ = ("defaults", "sql")

    def __init__(self, statement: Executable) -> None:
        assert isinstance(statement, ClauseElement)  # every statement `service` plans is one
        compiled = statement.compile(dialect=_DIALECT)
        self.sql = compiled.string
        self.defaults = {
            key: value.value if isinstance(value, Enum) else value
            for key, value in compiled.params.items()
            if value is not None
        }


class PostgresReceiver(SessionReceiver):
    """Each text on the event loop, on a pool of autocommit psycopg connections."""

    def __init__(self, engine: Engine, *, max_size: int = 10) -> None:
        super().__init__(engine)
        conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.pool = AsyncConnectionPool(
            conninfo, min_size=1, max_size=max_size, kwargs={"autocommit": True}, open=False
        )
        self._lookup = _Compiled(LOOKUP)
        self._scripts: dict[tuple[int, ...], tuple[str, dict[str, Any]]] = {}

    async def open(self) -> None:
        """Open the pool (connections are made in the background)."""
        await self.pool.open(wait=False)

    async def close(self) -> None:
        """Close the pool's connections."""
        await self.pool.close()

    def _script(self, writes: list[Write]) -> tuple[str, dict[str, Any]]:
        """The writes as one query's SQL (one transaction), built once per combination of statements."""
        key = tuple(id(write.statement) for write in writes)
        built = self._scripts.get(key)
        if built is None:
            statements, defaults = [], {}
            for number, write in enumerate(writes):
                compiled = _Compiled(write.for_dialect("postgresql"))
                sql = compiled.sql
                for name, value in compiled.defaults.items():  # each statement's literals, kept apart
                    sql = sql.replace(f"%({name})s", f"%(s{number}_{name})s")
                    defaults[f"s{number}_{name}"] = value
                statements.append(sql)
            built = self._scripts[key] = (";\n".join(statements), defaults)
        params = dict(built[1])
        for write in writes:
            params.update(write.params)
        return built[0], params

    async def receive(self, sms: IncomingSms) -> Received | None:
        """Store and act on the text; None when its SID was already stored (a replay: no second effect)."""
        now = utcnow()
        async with self.pool.connection() as conn:
            params: Mapping[str, Any] = {**self._lookup.defaults, **lookup_params(sms, now)}
            cursor = await conn.execute(self._lookup.sql, params)
            decided = plan(sms=sms, found=await cursor.fetchone(), now=now)
            if decided.consent is not None:
                return await super().receive(sms)
            script, values = self._script(decided.writes)
            try:
                async with AsyncClientCursor(conn) as writer:
                    await writer.execute(script, values)
            except UniqueViolation:  # the SID is stored already: everything before it rolled back
                return None
        return decided.received
