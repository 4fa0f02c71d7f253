"""Sending each claimed text at most once: the send pipeline, run by the workers for every text.

A pipeline, not a domain service: it owns its transactions, because the order of commits is the promise.
A text becomes `sending` and is committed before the gateway call, so a worker that dies mid-call leaves a
row nobody sends again (it becomes `unknown` and is settled by `reconcile`); the gateway's answer is
recorded in a transaction of its own. Retries go back through the database (a new `send_at`), never
through broker countdowns. The statements are built once at import and run on Core connections: they run
once per group of texts, and building them costs more than running them.
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
from outreach.sms.base import GatewayError, OutboundSms, SmsGateway, send_all

log = logging.getLogger(__name__)

Pace = Callable[[Sequence[int]], int]
"""Waits until the first texts of these segment counts may start together; returns how many (at least 1)."""


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
    col(OutboundMessage.id).in_(bindparam("mids", expanding=True)),
    col(OutboundMessage.status) == MessageStatus.QUEUED,
)
_CONSENTS = (col(Patient.consent) == ConsentStatus.GRANTED, col(Patient.undeliverable_reason).is_(None))
# Built once: the send path runs these for every text, and building them costs more than running them.
# PostgreSQL: one round trip for a group, the consent check and the phone numbers from one UPDATE ... FROM.
_TAKE_PG = (
    update(OutboundMessage)
    .where(*_STILL_QUEUED, col(OutboundMessage.patient_id) == Patient.id, *_CONSENTS)
    .values(_TAKE_VALUES)
    .returning(
        col(OutboundMessage.id),
        col(Patient.phone),
        col(OutboundMessage.body),
        col(OutboundMessage.segments),
        col(OutboundMessage.sender_id),
    )
)
# SQLite's RETURNING cannot name the FROM table: the phone numbers are read by a second statement.
_TAKE_SQLITE = (
    update(OutboundMessage)
    .where(*_STILL_QUEUED, col(OutboundMessage.patient_id).in_(select(Patient.id).where(*_CONSENTS)))
    .values(_TAKE_VALUES)
    .returning(
        col(OutboundMessage.id),
        col(OutboundMessage.patient_id),
        col(OutboundMessage.body),
        col(OutboundMessage.segments),
        col(OutboundMessage.sender_id),
    )
)
_PHONES = select(Patient.id, Patient.phone).where(col(Patient.id).in_(bindparam("pids", expanding=True)))
_REFUSE = (
    update(OutboundMessage)
    .where(*_STILL_QUEUED)
    .values(status=MessageStatus.CANCELLED, error_reason="patient has not agreed to get texts")
)


def _begin_group(*, conn: Connection, message_ids: Sequence[uuid.UUID], now: datetime) -> list[OutboundSms]:
    """Take the texts still queued whose patients still consent to `sending`; cancel the others' texts.

    Returns the texts taken, in the order asked. A text not taken was sent, cancelled or taken by another
    worker meanwhile, or its patient no longer consents (that text is cancelled here).
    """
    params = {"mids": list(message_ids), "now": now}
    rows: dict[uuid.UUID, tuple[str, str, int, uuid.UUID | None]] = {}
    if conn.dialect.name == "postgresql":
        for mid, phone, body, segments, sender_id in conn.execute(_TAKE_PG, params):
            rows[mid] = (phone, body, segments, sender_id)
    else:
        claimed = conn.execute(_TAKE_SQLITE, params).all()
        if claimed:
            phones = dict(conn.execute(_PHONES, {"pids": list({row[1] for row in claimed})}).all())
            for mid, pid, body, segments, sender_id in claimed:
                rows[mid] = (phones[pid], body, segments, sender_id)
    left = [mid for mid in message_ids if mid not in rows]
    if left:
        conn.execute(_REFUSE, {"mids": left})
    return [
        OutboundSms(message_id=mid, to=row[0], body=row[1], segments=row[2], sender_id=row[3])
        for mid in message_ids
        if (row := rows.get(mid)) is not None
    ]


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


_QUEUED_SEGMENTS = select(OutboundMessage.id, OutboundMessage.segments).where(
    col(OutboundMessage.id).in_(bindparam("mids", expanding=True)),
    col(OutboundMessage.status) == MessageStatus.QUEUED,
)


def _known_segments(
    engine: Engine, items: Sequence[tuple[uuid.UUID, int | None]]
) -> list[tuple[uuid.UUID, int]]:
    """The items with their segment counts, reading the counts the caller did not know in one query.

    A text whose count had to be read and that is no longer queued is left out: another worker or a STOP
    got there first.
    """
    unknown = [mid for mid, segments in items if segments is None]
    read: dict[uuid.UUID, int] = {}
    if unknown:
        with engine.connect() as reader:
            read = dict(reader.execute(_QUEUED_SEGMENTS, {"mids": unknown}).all())
    known: list[tuple[uuid.UUID, int]] = []
    for mid, segments in items:
        count = segments if segments is not None else read.get(mid)
        if count is not None:
            known.append((mid, max(1, count)))
    return known


def _with_callback(sms: OutboundSms, policy: SendPolicy) -> OutboundSms:
    if not policy.status_callback_base:
        return sms
    base = policy.status_callback_base.rstrip("/")
    return dataclasses.replace(
        sms, status_callback=f"{base}/webhooks/twilio/status?message_id={sms.message_id}"
    )


def _send_group(
    *,
    engine: Engine,
    conn: Connection | None,
    ids: Sequence[uuid.UUID],
    gateway: SmsGateway,
    policy: SendPolicy,
) -> tuple[Counter[str], list[tuple[uuid.UUID, str]]]:
    """Take a group to `sending` (committed), hand it to the gateway; the outcomes and the accepted SIDs.

    The caller has already waited the group's turn, and records accepted texts as sent.
    """
    outcomes: Counter[str] = Counter()
    with nullcontext(conn) if conn is not None else engine.begin() as taking:
        texts = _begin_group(conn=taking, message_ids=ids, now=utcnow())
    outcomes["skipped"] += len(ids) - len(texts)
    if not texts:
        return outcomes, []
    accepted: list[tuple[uuid.UUID, str]] = []
    answers = send_all(gateway, [_with_callback(sms, policy) for sms in texts])
    for sms, answer in zip(texts, answers, strict=True):
        if isinstance(answer, GatewayError):
            with session_scope(engine) as session:
                outcome = _record_error(
                    session=session, message_id=sms.message_id, error=answer, policy=policy
                )
            log.warning("send %s: %s (code %s)", sms.message_id, outcome, answer.code)
            outcomes[outcome] += 1
        else:
            accepted.append((sms.message_id, answer.provider_sid))
    outcomes["sent"] += len(accepted)
    return outcomes, accepted


def _begin_connection(engine: Engine) -> AbstractContextManager[Connection]:
    # PostgreSQL: a group's take is one UPDATE ... RETURNING: autocommit saves BEGIN/COMMIT round trips.
    return engine.connect().execution_options(isolation_level="AUTOCOMMIT")


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
    outcomes = send_batch(
        engine=engine, items=[(message_id, segments)], gateway=gateway, policy=policy, pace=pace
    )
    return next(iter(outcomes), "skipped")


def send_batch(
    *,
    engine: Engine,
    items: Sequence[tuple[uuid.UUID, int | None]],
    gateway: SmsGateway,
    policy: SendPolicy,
    pace: Pace | None = None,
) -> Counter[str]:
    """Send several queued texts, each at most once, in groups whose pacing slots fall together.

    Each group waits its turn, then its texts are taken to `sending` in one statement (checking consent
    then, so a STOP committed before the group's turn stops its text) and handed to the gateway together.
    Only the `sent` bookkeeping waits for the end: one statement (also when a text fails). If the worker
    dies first, those rows stay `sending`, become `unknown` and are settled by their status callbacks or
    the provider lookup, never resent. Without a pace the whole batch is one group.
    """
    outcomes: Counter[str] = Counter()
    accepted: list[tuple[uuid.UUID, str]] = []
    pending = _known_segments(engine, items) if pace is not None else [(mid, 1) for mid, _ in items]
    outcomes["skipped"] += len(items) - len(pending)
    # On PostgreSQL each group's take is one autocommit statement: one connection serves the batch.
    # On SQLite each group's take is a transaction of its own (it reads the numbers in a second statement).
    shared = _begin_connection(engine) if engine.dialect.name == "postgresql" else nullcontext(None)
    try:
        with shared as conn:
            while pending:
                count = pace([segments for _, segments in pending]) if pace is not None else len(pending)
                group, pending = pending[:count], pending[count:]
                done, sids = _send_group(
                    engine=engine, conn=conn, ids=[mid for mid, _ in group], gateway=gateway, policy=policy
                )
                outcomes.update(done)
                accepted.extend(sids)
    finally:
        _mark_sent(engine, accepted)
    return +outcomes  # only the outcomes that happened
