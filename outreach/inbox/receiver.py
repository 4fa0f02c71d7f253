"""Running inbound texts' units of work (`inbound`): on a session, or on PostgreSQL on the event loop.

The inbound webhook is the busiest route of the service and Twilio waits on it. On PostgreSQL it runs on
the event loop, in batches, on its own pool of psycopg connections. Texts that arrive while earlier ones
are being stored wait together and are then handled as one batch in two round trips: their `LOOKUP`s
as one multi-statement query, then every planned write as another, which PostgreSQL runs as one
implicit transaction: committed when the last statement succeeds, rolled back whole if any fails. At low
load a batch is one text; under load each round trip, wake-up of the server and commit serves many, and
those, not the SQL, were most of what a text cost (measured with `python -m bench inbound`).

The statements are the same SQLAlchemy statements the session path runs, compiled once for PostgreSQL
and PREPAREd on each pooled connection the first time it needs them, so the server parses and plans them
once; their values are bound by psycopg's client-side binding, which quotes them as the server would.
(SQL-level PREPARE needs a session-level connection: a transaction-pooling proxy such as PgBouncer in
transaction mode would have to run in session mode for this pool.)

A batch writes its texts ordered by clinic number and sender, so two batches in flight lock threads in
the same order and cannot deadlock. Each text keeps the time it arrived. When the database refuses
anything in a batch (a replayed MessageSid meets its unique index, say), the whole transaction rolls
back and the batch is written again one text per transaction: only the text at fault fails, and a
replay has no second effect.

A STOP or START changes consent through the patients service, which needs a session: those (rare) texts
take the session path in a worker thread, as every text does on SQLite.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

import psycopg
from fastapi.concurrency import run_in_threadpool
from psycopg import AsyncClientCursor, AsyncConnection, OperationalError
from psycopg.errors import UniqueViolation
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy.engine import Engine
from sqlmodel import Session

from outreach.db import utcnow
from outreach.inbox.inbound import DuplicateInbound, receive
from outreach.inbox.inbound_plan import IncomingSms, Plan, Received, plan
from outreach.inbox.inbound_sql import LOOKUP, Write, lookup_params, sender_of, writes
from outreach.inbox.prepared import Prepared


class SessionReceiver:
    """Each text in a worker thread on a SQLAlchemy session (SQLite, and STOP/START everywhere)."""

    def __init__(self, engine: Engine, *, stop_scope: str = "clinic") -> None:
        self.engine = engine
        self.stop_scope = stop_scope  # OUTREACH_STOP_SCOPE: whether a STOP covers the organisation

    async def receive(self, sms: IncomingSms) -> Received | None:
        """Store and act on the text; None when its SID was already stored (a replay: no second effect)."""
        return await run_in_threadpool(self._receive_and_commit, sms)

    def _receive_and_commit(self, sms: IncomingSms) -> Received | None:
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                received = receive(session=session, sms=sms, now=utcnow(), stop_scope=self.stop_scope)
                session.commit()
            except DuplicateInbound:
                session.rollback()
                return None
        return received

    async def close(self) -> None:
        """Nothing of its own to release: the engine belongs to the app."""


@dataclass(slots=True)
class _Waiting:
    """A text waiting for its batch, when it arrived, and where its outcome goes."""

    sms: IncomingSms
    arrived: datetime
    outcome: asyncio.Future[Received | _BySession | None]


class _BySession:
    """The outcome of a text that changes consent: the request takes the session path itself."""


_BY_SESSION = _BySession()


class PostgresReceiver(SessionReceiver):
    """Texts on the event loop, in batches, on a pool of autocommit psycopg connections."""

    def __init__(self, engine: Engine, *, batches: int = 2, batch_size: int = 64) -> None:
        super().__init__(engine)
        conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        # A batch waits at most 10 s for a connection: Twilio gives up on a webhook after 15.
        self.pool = AsyncConnectionPool(
            conninfo,
            min_size=1,
            max_size=batches,
            timeout=10,
            kwargs={"autocommit": True},
            name="outreach-inbound",
            open=False,
        )
        # At most `batches` batches in flight, each on its own connection.
        self.batches = batches
        self.batch_size = batch_size
        self._waiting: deque[_Waiting] = deque()
        self._draining = 0  # drainers running (each takes one batch at a time)
        self._drainers: set[asyncio.Task[None]] = set()
        self._lookup = Prepared(LOOKUP, "outreach_inbound_lookup")
        self._statements: dict[int, Prepared] = {}
        # The statements each pooled connection has prepared (a reconnect is a new connection object).
        self._ready: WeakKeyDictionary[AsyncConnection[Any], set[str]] = WeakKeyDictionary()

    async def open(self) -> None:
        """Open the pool (connections are made in the background)."""
        await self.pool.open(wait=False)

    async def close(self) -> None:
        """Let the batches in flight finish, then close the pool's connections."""
        await asyncio.gather(*self._drainers, return_exceptions=True)
        await self.pool.close()

    async def receive(self, sms: IncomingSms) -> Received | None:
        """Store and act on the text; None when its SID was already stored (a replay: no second effect)."""
        waiting = _Waiting(sms, utcnow(), asyncio.get_running_loop().create_future())
        self._waiting.append(waiting)
        # One batch at a time while it keeps up (the fewer, larger batches, the less each text costs);
        # another only when a whole batch is already waiting behind it (a slow or stuck batch).
        if not self._draining or (self._draining < self.batches and len(self._waiting) >= self.batch_size):
            self._draining += 1
            drainer = asyncio.create_task(self._drain())
            self._drainers.add(drainer)
            drainer.add_done_callback(self._drainers.discard)
        outcome = await waiting.outcome
        if isinstance(outcome, _BySession):
            return await run_in_threadpool(self._receive_and_commit, sms)
        return outcome

    async def _drain(self) -> None:
        """Take batches of the texts waiting, in arrival order, until none wait."""
        try:
            while self._waiting:
                count = min(len(self._waiting), self.batch_size)
                batch = [self._waiting.popleft() for _ in range(count)]
                try:
                    await self._settle(batch)
                except BaseException as exc:  # every text of the batch gets an answer, even a failure
                    for waiting in batch:
                        _failed(waiting, exc)
                    if not isinstance(exc, Exception):
                        raise
        finally:
            # Counted down in the same step that found nothing waiting (not in a done callback, which runs
            # later): a text that arrives after this starts a new drainer instead of waiting for none.
            self._draining -= 1

    async def _settle(self, batch: list[_Waiting]) -> None:
        try:
            await self._retrying(batch)
        except PoolTimeout:  # no connection to be had: another wait would outlast Twilio's patience
            raise
        except psycopg.Error:
            if len(batch) == 1:
                raise
            # Something in the batch was refused and everything rolled back: one text at a time, so only
            # the text at fault fails (a replayed SID among them simply has no second effect).
            for waiting in batch:
                if waiting.outcome.done():  # a change of consent, already handed to its session
                    continue
                try:
                    await self._retrying([waiting])
                except Exception as exc:
                    _failed(waiting, exc)

    async def _retrying(self, batch: list[_Waiting]) -> None:
        try:
            await self._handle(batch)
        except PoolTimeout:
            raise
        except OperationalError:
            # A pooled connection the server has closed (a restart, an idle timeout) fails at first use,
            # and Twilio does not retry an inbound webhook that fails. Drop every broken connection and
            # try once more. If the first try committed before the link broke, the retry meets the
            # stored SIDs and has no second effect.
            await self.pool.check()
            await self._handle([waiting for waiting in batch if not waiting.outcome.done()])

    async def _handle(self, batch: list[_Waiting]) -> None:
        async with self.pool.connection() as conn:
            rows = await self._lookup_rows(conn, batch)
            planned: list[tuple[_Waiting, Plan, list[Write]]] = []
            for waiting, row in zip(batch, rows, strict=True):
                decided = plan(sms=waiting.sms, sender=sender_of(row), now=waiting.arrived)
                if decided.consent is not None:
                    _settled(waiting, _BY_SESSION)
                else:
                    planned.append((waiting, decided, writes(decided)))
            if not planned:
                return
            # The same order in every batch: threads are locked in one order, so batches cannot deadlock.
            planned.sort(key=lambda item: (item[0].sms.to_phone, item[0].sms.from_phone))
            try:
                await self._write(conn, [write for _, _, todo in planned for write in todo])
            except UniqueViolation:
                if len(planned) > 1:
                    raise
                outcomes: list[Received | None] = [None]  # a replayed SID: all rolled back, no second effect
            else:
                outcomes = [decided.received for _, decided, _ in planned]
        for (waiting, _, _), outcome in zip(planned, outcomes, strict=True):
            _settled(waiting, outcome)

    def _prepared(self, write: Write) -> Prepared:
        statement = write.for_dialect("postgresql")
        found = self._statements.get(id(statement))
        if found is None:
            name = f"outreach_inbound_{len(self._statements)}"
            found = self._statements[id(statement)] = Prepared(statement, name)
        return found

    async def _prepare(self, conn: AsyncConnection[Any], statements: list[Prepared]) -> None:
        """PREPARE what this connection has not prepared yet (once per connection and statement)."""
        ready = self._ready.setdefault(conn, set())
        for statement in statements:
            if statement.name not in ready:
                await conn.execute(statement.prepare)
                ready.add(statement.name)

    async def _lookup_rows(self, conn: AsyncConnection[Any], batch: list[_Waiting]) -> list[Any]:
        """`LOOKUP` for every text, as one multi-statement query: a row (or None) per text, in order."""
        lookup = self._lookup
        await self._prepare(conn, [lookup])
        rows = []
        async with AsyncClientCursor(conn) as cursor:
            # Bound statement by statement (psycopg keeps how to bind each), then sent as one script.
            script = ";\n".join(
                cursor.mogrify(lookup.execute, lookup.args(lookup_params(w.sms, w.arrived))) for w in batch
            )
            await cursor.execute(script)
            rows.append(await cursor.fetchone())
            while cursor.nextset():
                rows.append(await cursor.fetchone())
        return rows

    async def _write(self, conn: AsyncConnection[Any], writes: list[Write]) -> None:
        """Run the writes as one multi-statement query: one round trip, one implicit transaction."""
        statements = [self._prepared(write) for write in writes]
        await self._prepare(conn, statements)
        async with AsyncClientCursor(conn) as cursor:
            script = ";\n".join(
                cursor.mogrify(statement.execute, statement.args(write.params))
                for statement, write in zip(statements, writes, strict=True)
            )
            await cursor.execute(script)


def _settled(waiting: _Waiting, outcome: Received | _BySession | None) -> None:
    if not waiting.outcome.done():  # a request that was cancelled (the caller hung up) is not waiting
        waiting.outcome.set_result(outcome)


def _failed(waiting: _Waiting, exc: BaseException) -> None:
    if not waiting.outcome.done():
        waiting.outcome.set_exception(exc)
