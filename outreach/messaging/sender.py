"""Sending each claimed text at most once: the send pipeline, run by the workers for every text.

A pipeline, not a domain service: it owns its transactions, because the order of commits is the promise.
A text becomes `sending` and is committed before the gateway call, so a worker that dies mid-call leaves a
row nobody sends again (it becomes `unknown` and is settled by `reconcile`); the gateway's answer is
recorded in a transaction of its own. Retries go back through the database (a new `send_at`), never
through broker countdowns. The statements are built once at import and run on Core connections: they run
once per text, and building them costs more than running them.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col, select

from outreach.db import session_scope, utcnow
from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.messaging.status import record_failure
from outreach.patients.models import ConsentStatus, Patient
from outreach.sms.base import GatewayError, OutboundSms, SmsGateway

log = logging.getLogger(__name__)

Pace = Callable[[int], None]
"""Waits until the sender may start a text of this many segments."""

Begin = Callable[[], AbstractContextManager[Connection]]
"""Gives the connection a text is taken to `sending` on (and commits that when it is a transaction)."""


@dataclass(frozen=True, slots=True)
class SendPolicy:
    """How the sender treats failures and where status callbacks go."""

    max_attempts: int = 5
    status_callback_base: str | None = None
    backoff_base_s: float = 5.0
    backoff_cap_s: float = 600.0


_TAKE_VALUES = {
    "status": MessageStatus.SENDING,
    "attempts": OutboundMessage.attempts + 1,
    "updated_at": bindparam("now"),
}
_STILL_QUEUED = (
    col(OutboundMessage.id) == bindparam("mid"),
    col(OutboundMessage.status) == MessageStatus.QUEUED,
)
_CONSENTS = (col(Patient.consent) == ConsentStatus.GRANTED, col(Patient.undeliverable_reason).is_(None))
# Built once: the send path runs these for every text, and building them costs more than running them.
# PostgreSQL: one round trip, the consent check and the phone number come from the same UPDATE ... FROM.
_TAKE_PG = (
    update(OutboundMessage)
    .where(*_STILL_QUEUED, col(OutboundMessage.patient_id) == Patient.id, *_CONSENTS)
    .values(_TAKE_VALUES)
    .returning(
        col(Patient.phone),
        col(OutboundMessage.body),
        col(OutboundMessage.segments),
        col(OutboundMessage.sender_id),
    )
)
# SQLite's RETURNING cannot name the FROM table: the phone is read by a second statement.
_TAKE_SQLITE = (
    update(OutboundMessage)
    .where(*_STILL_QUEUED, col(OutboundMessage.patient_id).in_(select(Patient.id).where(*_CONSENTS)))
    .values(_TAKE_VALUES)
    .returning(
        col(OutboundMessage.patient_id),
        col(OutboundMessage.body),
        col(OutboundMessage.segments),
        col(OutboundMessage.sender_id),
    )
)
_PHONE = select(Patient.phone).where(col(Patient.id) == bindparam("pid"))
_REFUSE = (
    update(OutboundMessage)
    .where(*_STILL_QUEUED)
    .values(status=MessageStatus.CANCELLED, error_reason="patient has not agreed to get texts")
)


def _begin_send(*, conn: Connection, message_id: uuid.UUID, now: datetime) -> OutboundSms | None:
    """Take the row from queued to sending if its patient still consents; None when it is not ours."""
    params = {"mid": message_id, "now": now}
    row: tuple[str, str, int, uuid.UUID | None] | None = None
    if conn.dialect.name == "postgresql":
        taken = conn.execute(_TAKE_PG, params).first()
        row = None if taken is None else (taken[0], taken[1], taken[2], taken[3])
    else:
        claimed = conn.execute(_TAKE_SQLITE, params).first()
        if claimed is not None:
            phone = conn.execute(_PHONE, {"pid": claimed[0]}).scalar_one()
            row = (phone, claimed[1], claimed[2], claimed[3])
    if row is None:
        conn.execute(_REFUSE, {"mid": message_id})
        return None
    return OutboundSms(message_id=message_id, to=row[0], body=row[1], segments=row[2], sender_id=row[3])


def _backoff(attempt: int, policy: SendPolicy) -> timedelta:
    # Full jitter: spreads retries from many workers so a recovering gateway is not hit all at once.
    ceiling = min(policy.backoff_cap_s, policy.backoff_base_s * 2 ** max(attempt - 1, 0))
    return timedelta(seconds=random.uniform(policy.backoff_base_s / 2, ceiling))


def _record_error(*, session: Session, message_id: uuid.UUID, error: GatewayError, policy: SendPolicy) -> str:
    message = session.get(OutboundMessage, message_id)
    if message is None or message.status != MessageStatus.SENDING:
        return "superseded"
    now = utcnow()
    message.error_code, message.error_reason, message.updated_at = error.code, error.reason[:255], now
    if error.may_have_arrived:
        message.status = MessageStatus.UNKNOWN
    elif error.retryable and message.attempts < policy.max_attempts:
        message.status = MessageStatus.SCHEDULED
        message.send_at = now + _backoff(message.attempts, policy)
    else:
        message.status = MessageStatus.FAILED
        record_failure(session=session, message=message, code=error.code, now=now)
        message.error_reason = message.error_reason if error.code else error.reason[:255]
    session.add(message)
    return message.status.value if isinstance(message.status, MessageStatus) else str(message.status)


def _queued_segments(*, conn: Connection, message_id: uuid.UUID) -> int | None:
    """Segment count of a queued text, or None when it is no longer queued."""
    return conn.execute(
        select(OutboundMessage.segments).where(
            OutboundMessage.id == message_id, OutboundMessage.status == MessageStatus.QUEUED
        )
    ).scalar_one_or_none()


def _wait_turn(*, engine: Engine, message_id: uuid.UUID, pace: Pace | None, segments: int | None) -> bool:
    """Wait for the sender's pace before the text is taken; False when it is no longer queued.

    Without a pace there is nothing to wait for. With one, a text whose segment count the caller does not
    know is read first (and found gone when another worker or a STOP got there first).
    """
    if pace is None:
        return True
    if segments is None:
        with engine.connect() as reader:
            segments = _queued_segments(conn=reader, message_id=message_id)
        if segments is None:
            return False
    pace(segments)
    return True


def _attempt(
    *,
    engine: Engine,
    begin: Begin,
    message_id: uuid.UUID,
    gateway: SmsGateway,
    policy: SendPolicy,
) -> tuple[str, str | None]:
    """Take the row to `sending` on `begin`'s connection, call the gateway; return (outcome, SID if accepted).

    The caller has already waited its turn, and records accepted texts as sent (one at a time, or a
    batch's in one statement).
    """
    with begin() as conn:
        sms = _begin_send(conn=conn, message_id=message_id, now=utcnow())
    if sms is None:
        return "skipped", None
    if policy.status_callback_base:
        callback = f"{policy.status_callback_base.rstrip('/')}/webhooks/twilio/status?message_id={message_id}"
        sms = dataclasses.replace(sms, status_callback=callback)
    try:
        receipt = gateway.send(sms)
    except GatewayError as error:
        with session_scope(engine) as session:
            outcome = _record_error(session=session, message_id=message_id, error=error, policy=policy)
        log.warning("send %s: %s (code %s)", message_id, outcome, error.code)
        return outcome, None
    return "sent", receipt.provider_sid


def _begin_connection(engine: Engine) -> AbstractContextManager[Connection]:
    # PostgreSQL: the begin is one UPDATE ... RETURNING, so autocommit saves the BEGIN/COMMIT round trips.
    # SQLite: a transaction, because its path reads the phone number in a second statement.
    if engine.dialect.name == "postgresql":
        return engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    return engine.begin()


_MARK_SENT = (
    update(OutboundMessage)
    .where(col(OutboundMessage.id) == bindparam("mid"), col(OutboundMessage.status) == MessageStatus.SENDING)
    .values(status=MessageStatus.SENT, provider_sid=bindparam("sid"), sent_at=bindparam("at"))
)


def _mark_sent(engine: Engine, accepted: list[tuple[uuid.UUID, str]]) -> None:
    """Record accepted texts as sent (a callback that already said `delivered` is not overwritten)."""
    if not accepted:
        return
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(
            _MARK_SENT.values(updated_at=now), [{"mid": mid, "sid": sid, "at": now} for mid, sid in accepted]
        )


def send(
    *,
    engine: Engine,
    message_id: uuid.UUID,
    gateway: SmsGateway,
    policy: SendPolicy,
    pace: Pace | None = None,
    segments: int | None = None,
) -> str:
    """Send one queued text at most once; return the status it ended in.

    Pacing waits before the row becomes `sending`: a STOP that arrives while we wait still wins, and a
    worker killed while waiting leaves a row that is simply queued again, not an unknown outcome.
    """
    if not _wait_turn(engine=engine, message_id=message_id, pace=pace, segments=segments):
        return "skipped"
    outcome, sid = _attempt(
        engine=engine,
        begin=lambda: _begin_connection(engine),
        message_id=message_id,
        gateway=gateway,
        policy=policy,
    )
    if sid is not None:
        _mark_sent(engine, [(message_id, sid)])
    return outcome


def send_batch(
    *,
    engine: Engine,
    items: Sequence[tuple[uuid.UUID, int | None]],
    gateway: SmsGateway,
    policy: SendPolicy,
    pace: Pace | None = None,
) -> Counter[str]:
    """Send several queued texts one after another, each at most once; count the outcomes.

    Each text is still paced, taken to `sending` and checked for consent just before its own gateway
    call, so a STOP committed mid-batch stops the rest. Only the `sent` bookkeeping is batched: one
    statement at the end (also when a text fails). If the worker dies first, those rows stay `sending`,
    become `unknown` and are settled by their status callbacks or the provider lookup, never resent.
    """
    outcomes: Counter[str] = Counter()
    accepted: list[tuple[uuid.UUID, str]] = []
    # On PostgreSQL each text's begin is one autocommit statement: one connection serves the batch.
    # On SQLite each text's begin is a transaction of its own.
    shared = _begin_connection(engine) if engine.dialect.name == "postgresql" else nullcontext(None)
    try:
        with shared as conn:
            begin: Begin = (lambda: nullcontext(conn)) if conn is not None else engine.begin
            for message_id, segments in items:
                if not _wait_turn(engine=engine, message_id=message_id, pace=pace, segments=segments):
                    outcomes["skipped"] += 1
                    continue
                outcome, sid = _attempt(
                    engine=engine, begin=begin, message_id=message_id, gateway=gateway, policy=policy
                )
                outcomes[outcome] += 1
                if sid is not None:
                    accepted.append((message_id, sid))
    finally:
        _mark_sent(engine, accepted)
    return outcomes
