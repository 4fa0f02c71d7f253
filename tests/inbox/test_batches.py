"""Texts that arrive together on PostgreSQL share round trips and commits, yet each has its own outcome."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from outreach.inbox.inbound_plan import IncomingSms, Received
from outreach.inbox.models import InboundKind, Priority
from outreach.inbox.receiver import PostgresReceiver
from outreach.patients.models import ConsentStatus, Patient
from tests.factories import create_clinic, create_patient
from tests.inbox.support import CLINIC_PHONE, inbound, threads

pytestmark = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


def _sms(sender: str, body: str, sid: str | None = None) -> IncomingSms:
    return IncomingSms(
        sid=sid or f"SM{uuid.uuid4().hex}", from_phone=sender, to_phone=CLINIC_PHONE, body=body
    )


def _arrive_together(
    engine: Engine, texts: Sequence[IncomingSms], **batching: int
) -> list[Received | BaseException | None]:
    """Hand every text to one receiver at the same moment, as concurrent webhooks do."""

    async def arrive() -> list[Received | BaseException | None]:
        receiver = PostgresReceiver(engine, **batching)
        await receiver.open()
        try:
            return await asyncio.gather(*(receiver.receive(sms) for sms in texts), return_exceptions=True)
        finally:
            await receiver.close()

    return asyncio.run(arrive())


def _transactions_that_stored(engine: Engine, texts: Sequence[IncomingSms]) -> int:
    """How many transactions wrote these texts (rows written by one transaction share its xmin)."""
    with engine.connect() as conn:
        query = text("SELECT count(DISTINCT xmin::text) FROM inbound_message WHERE provider_sid = ANY(:sids)")
        return int(conn.execute(query, {"sids": [sms.sid for sms in texts]}).scalar_one())


def _reply(outcome: Any) -> str:
    assert isinstance(outcome, Received), outcome
    return outcome.reply or ""


def test_texts_arriving_together_share_commits_and_each_gets_its_own_answer(engine: Engine) -> None:
    clinic = create_clinic(engine, phone=CLINIC_PHONE)
    ana = create_patient(engine, clinic, language="en")
    luis = create_patient(engine, clinic, language="es")
    mai = create_patient(engine, clinic, language="vi")
    routed = [
        _sms(ana.phone, "Is parking free?"),
        _sms(ana.phone, "I have chest pain"),
        _sms(luis.phone, "AYUDA"),
        _sms(luis.phone, "Hola, tengo una pregunta"),
        _sms("+12025550999", "who is this?"),
    ]
    stop = _sms(mai.phone, "STOP")
    outcomes = _arrive_together(engine, [*routed, stop])

    assert "911" in _reply(outcomes[1])
    assert isinstance(outcomes[2], Received)
    assert (outcomes[2].kind, bool(outcomes[2].reply)) == (InboundKind.HELP, True)
    assert [_reply(outcomes[i]) for i in (0, 3, 4)] == ["", "", ""]
    assert _reply(outcomes[5])  # the opt-out confirmation
    with Session(engine) as session:
        stopped = session.get(Patient, mai.id)
        assert stopped is not None
        assert stopped.consent == ConsentStatus.REVOKED
    assert len(inbound(engine)) == 6
    assert _transactions_that_stored(engine, routed) < len(routed)
    queued = {(t.patient_id, t.from_phone): t.priority for t in threads(engine)}
    assert queued == {
        (ana.id, ana.phone): Priority.URGENT,
        (luis.id, luis.phone): Priority.NORMAL,
        (None, "+12025550999"): Priority.NORMAL,
    }


def test_a_replay_among_new_texts_has_no_second_effect_and_the_new_ones_are_stored(engine: Engine) -> None:
    clinic = create_clinic(engine, phone=CLINIC_PHONE)
    patient = create_patient(engine, clinic, language="en")
    first = _sms(patient.phone, "I can't breathe")
    [stored] = _arrive_together(engine, [first])
    assert "911" in _reply(stored)

    outcomes = _arrive_together(
        engine, [_sms(patient.phone, "question one"), first, _sms(patient.phone, "question two")]
    )
    assert outcomes[1] is None
    assert [_reply(outcomes[0]), _reply(outcomes[2])] == ["", ""]
    assert sorted(m.body for m in inbound(engine)) == ["I can't breathe", "question one", "question two"]


def test_a_text_the_database_refuses_fails_alone_and_the_rest_are_stored(engine: Engine) -> None:
    clinic = create_clinic(engine, phone=CLINIC_PHONE)
    patient = create_patient(engine, clinic, language="en")
    outcomes = _arrive_together(
        engine,
        [_sms(patient.phone, "before"), _sms(patient.phone, "nul \x00 byte"), _sms(patient.phone, "after")],
    )
    assert isinstance(outcomes[1], psycopg.DataError)
    assert [type(outcomes[0]), type(outcomes[2])] == [Received, Received]
    assert sorted(m.body for m in inbound(engine)) == ["after", "before"]


def _wait_for_lock_waits(engine: Engine, count: int) -> None:
    query = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    deadline = time.monotonic() + 20
    with engine.connect() as conn:
        while conn.execute(query).scalar_one() < count:
            assert time.monotonic() < deadline, "the batches never reached the locked threads"
            conn.rollback()  # pg_stat_activity is read once per transaction
            time.sleep(0.05)


def test_two_batches_meeting_the_same_threads_in_opposite_orders_do_not_deadlock(engine: Engine) -> None:
    clinic = create_clinic(engine, phone=CLINIC_PHONE)
    x, w1, w2, y = (
        create_patient(engine, clinic, language="en", phone=f"+1202555010{n}") for n in range(1, 5)
    )
    _arrive_together(engine, [_sms(p.phone, "hello") for p in (x, w1, w2, y)])  # everyone has a thread
    # Arrival order: batch one meets x, w1, y and batch two y, w2, x. Each waits at its w (locked below)
    # holding its first thread; without one lock order for all batches, each would then wait for the
    # other's first thread: a deadlock.
    first = [_sms(x.phone, "a"), _sms(w1.phone, "b"), _sms(y.phone, "c")]
    second = [_sms(y.phone, "d"), _sms(w2.phone, "e"), _sms(x.phone, "f")]
    outcomes: list[Received | BaseException | None] = []
    dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    database = engine.url.database
    # Long enough that a deadlock would outlast the wait below (PostgreSQL's own default is one second).
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f"ALTER DATABASE \"{database}\" SET deadlock_timeout = '30s'")
    try:
        with psycopg.connect(dsn) as blocker:
            blocker.execute(
                "SELECT id FROM inbox_thread WHERE patient_id = ANY(%s) FOR UPDATE", [[w1.id, w2.id]]
            )
            arrivals = threading.Thread(
                target=lambda: outcomes.extend(
                    _arrive_together(engine, first + second, batches=2, batch_size=3)
                ),
                daemon=True,
            )
            arrivals.start()
            _wait_for_lock_waits(engine, 2)
            blocker.commit()
        arrivals.join(15)
    finally:
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{database}" RESET deadlock_timeout')

    assert [type(o) for o in outcomes] == [Received] * 6
    # Each batch committed whole, in one transaction.
    assert _transactions_that_stored(engine, first) == _transactions_that_stored(engine, second) == 1


def test_a_text_right_after_a_batch_finishes_is_still_handled(engine: Engine) -> None:
    clinic = create_clinic(engine, phone=CLINIC_PHONE)
    patient = create_patient(engine, clinic, language="en")

    async def one_after_the_other() -> list[Received | None]:
        receiver = PostgresReceiver(engine)
        await receiver.open()
        try:
            # The second text arrives in the very step the first one's answer is delivered: as its batch
            # ends, before anything else has run.
            first = await receiver.receive(_sms(patient.phone, "first"))
            async with asyncio.timeout(10):  # in this task, so nothing runs between the two
                second = await receiver.receive(_sms(patient.phone, "second"))
            return [first, second]
        finally:
            await receiver.close()

    outcomes = asyncio.run(one_after_the_other())
    assert [type(o) for o in outcomes] == [Received, Received]
    assert sorted(m.body for m in inbound(engine)) == ["first", "second"]
