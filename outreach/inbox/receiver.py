"""Running one inbound text's unit of work (`service`): on a session, or on PostgreSQL on the event loop.

The inbound webhook is the busiest route of the service and Twilio waits on it. On PostgreSQL it runs on
the event loop with its own pool of psycopg connections, in two round trips and no thread: `LOOKUP`, then
the planned writes as one multi-statement query (`EXECUTE …; EXECUTE …`), which PostgreSQL runs as one
implicit transaction, committed when the last statement succeeds and rolled back whole if any fails.
Both are the same SQLAlchemy statements the session path runs, compiled once for PostgreSQL and
prepared on each pooled connection the first time it needs them, so the server parses and plans them
once rather than per text; their values are bound by psycopg's client-side binding, which quotes them
as the server would. (SQL-level PREPARE needs a session-level connection: a transaction-pooling proxy
such as PgBouncer in transaction mode would have to run in session mode for this pool.)

A STOP or START changes consent through the patients service, which needs a session: those (rare) texts
take the session path in a worker thread, as every text does on SQLite.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any
from weakref import WeakKeyDictionary

from fastapi.concurrency import run_in_threadpool
from psycopg import AsyncClientCursor, AsyncConnection, OperationalError
from psycopg.errors import UniqueViolation
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.engine import Engine
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
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

_POSITIONAL = psycopg_dialect(paramstyle="numeric_dollar")  # type: ignore[no-untyped-call]


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


class _Prepared:
    """A statement prepared on the server: PREPARE once per connection, then EXECUTE name(…)."""

    __slots__ = ("defaults", "execute", "name", "order", "prepare")

    def __init__(self, statement: Executable, name: str) -> None:
        assert isinstance(statement, ClauseElement)  # every statement `service` plans is one
        compiled = statement.compile(dialect=_POSITIONAL)
        assert isinstance(compiled, SQLCompiler)  # a DML statement compiles to one
        self.name = name
        self.prepare = f"PREPARE {name} AS {compiled.string}"
        self.order = list(compiled.positiontup or ())
        self.defaults = _plain(compiled.params)
        self.execute = f"EXECUTE {name}({', '.join(['%s'] * len(self.order))})"

    def args(self, values: Mapping[str, Any]) -> list[Any]:
        return [values[key] if key in values else self.defaults[key] for key in self.order]


def _plain(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v.value if isinstance(v, Enum) else v for k, v in params.items() if v is not None}


class PostgresReceiver(SessionReceiver):
    """Each text on the event loop, on a pool of autocommit psycopg connections."""

    def __init__(self, engine: Engine, *, max_size: int = 10) -> None:
        super().__init__(engine)
        conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        # A text waits at most 10 s for a connection: Twilio gives up on a webhook after 15.
        self.pool = AsyncConnectionPool(
            conninfo,
            min_size=1,
            max_size=max_size,
            timeout=10,
            kwargs={"autocommit": True},
            name="outreach-inbound",
            open=False,
        )
        self._lookup = _Prepared(LOOKUP, "outreach_inbound_lookup")
        self._statements: dict[int, _Prepared] = {}
        # The statements each pooled connection has prepared (a reconnect is a new connection object).
        self._ready: WeakKeyDictionary[AsyncConnection[Any], set[str]] = WeakKeyDictionary()

    async def open(self) -> None:
        """Open the pool (connections are made in the background)."""
        await self.pool.open(wait=False)

    async def close(self) -> None:
        """Close the pool's connections."""
        await self.pool.close()

    def _prepared(self, write: Write) -> _Prepared:
        statement = write.for_dialect("postgresql")
        found = self._statements.get(id(statement))
        if found is None:
            name = f"outreach_inbound_{len(self._statements)}"
            found = self._statements[id(statement)] = _Prepared(statement, name)
        return found

    async def _prepare(self, conn: AsyncConnection[Any], statements: list[_Prepared]) -> None:
        """PREPARE what this connection has not prepared yet (once per connection and statement)."""
        ready = self._ready.setdefault(conn, set())
        for statement in statements:
            if statement.name not in ready:
                await conn.execute(statement.prepare)
                ready.add(statement.name)

    async def _lookup_row(self, conn: AsyncConnection[Any], sms: IncomingSms, now: datetime) -> Any:
        await self._prepare(conn, [self._lookup])
        async with AsyncClientCursor(conn) as cursor:
            await cursor.execute(self._lookup.execute, self._lookup.args(lookup_params(sms, now)))
            return await cursor.fetchone()

    async def _write(self, conn: AsyncConnection[Any], writes: list[Write]) -> None:
        """Run the writes as one multi-statement query: one round trip, one implicit transaction."""
        statements = [self._prepared(write) for write in writes]
        await self._prepare(conn, statements)
        script = ";\n".join(statement.execute for statement in statements)
        args = [
            arg
            for statement, write in zip(statements, writes, strict=True)
            for arg in statement.args(write.params)
        ]
        async with AsyncClientCursor(conn) as cursor:
            await cursor.execute(script, args)

    async def receive(self, sms: IncomingSms) -> Received | None:
        """Store and act on the text; None when its SID was already stored (a replay: no second effect)."""
        try:
            return await self._receive(sms)
        except PoolTimeout:  # no connection to be had: another wait would outlast Twilio's patience
            raise
        except OperationalError:
            # A pooled connection the server has closed (a restart, an idle timeout) fails at first use,
            # and Twilio does not retry an inbound webhook that fails. Drop every broken connection and
            # try once more. If the first try committed before the link broke, the retry meets the
            # stored SID and has no second effect.
            await self.pool.check()
            return await self._receive(sms)

    async def _receive(self, sms: IncomingSms) -> Received | None:
        now = utcnow()
        async with self.pool.connection() as conn:
            decided = plan(sms=sms, found=await self._lookup_row(conn, sms, now), now=now)
            if decided.consent is not None:
                return await super().receive(sms)
            try:
                await self._write(conn, decided.writes)
            except UniqueViolation:  # the SID is stored already: everything before it rolled back
                return None
        return decided.received
