"""The outbox: creating texts, claiming due ones, and sending each at most once.

Sending runs as three short transactions on purpose: the row becomes `sending` and is committed
before the gateway call, so a worker that dies mid-call leaves a row nobody will send again; the
gateway's answer is recorded in a second transaction. Retries go back through the database (a new
`send_at`), never through broker countdowns.
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
from zoneinfo import ZoneInfoNotFoundError

from sqlalchemy import bindparam, update
from sqlalchemy import select as core_select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col, select

from outreach.campaigns.models import Campaign, CampaignStatus
from outreach.clinics.models import Clinic
from outreach.db import session_scope, utcnow
from outreach.errors import Conflict, Invalid, NotFound
from outreach.i18n import count_segments, negotiate
from outreach.messaging.models import CAMPAIGN_PAUSED, UNSENT, MessageStatus, OutboundMessage
from outreach.messaging.quiet_hours import next_allowed
from outreach.patients.models import Appointment, AppointmentStatus, ConsentStatus, Patient
from outreach.security import phi, spend
from outreach.sms.base import GatewayError, OutboundSms, SmsGateway

log = logging.getLogger(__name__)

MAX_BODY_CHARS = 1600  # Twilio's limit for one message body
UNKNOWN_ZONE = "unknown_time_zone"  # error_reason of texts held because the patient's stored zone is unknown


@dataclass(frozen=True, slots=True)
class SendPolicy:
    """How the sender treats failures and where status callbacks go."""

    max_attempts: int = 5
    status_callback_base: str | None = None
    backoff_base_s: float = 5.0
    backoff_cap_s: float = 600.0


def create_one_off(
    *,
    session: Session,
    clinic_id: uuid.UUID,
    patient_id: uuid.UUID,
    body: str,
    send_at: datetime | None,
    language: str | None,
    now: datetime,
    kind: str = "one_off",
    phi_override_reason: str | None = None,
    actor_key_id: uuid.UUID | None = None,
) -> OutboundMessage:
    """Schedule one text (a clinic's one-off, a coordinator's reply, ...) to one consenting patient."""
    patient = session.get(Patient, patient_id)
    if patient is None or patient.clinic_id != clinic_id:
        raise NotFound("patient")
    if patient.consent != ConsentStatus.GRANTED:
        raise Conflict("the patient has not agreed to get texts (consent is not granted)")
    text = body.strip()
    if not text:
        raise Invalid("body", "must not be empty")
    if len(text) > MAX_BODY_CHARS:
        raise Invalid("body", f"is {len(text)} characters; the limit is {MAX_BODY_CHARS}")
    when = send_at or now
    if when.tzinfo is None:
        raise Invalid("send_at", "needs a time zone offset, for example 2026-03-03T14:30:00-05:00")
    if when < now - timedelta(minutes=1):
        raise Invalid("send_at", "is in the past")
    language = language or negotiate(patient.language).language
    phi.check_text(
        session=session, clinic_id=clinic_id, text=text, language=language, field="body",
        override_reason=phi_override_reason, key_id=actor_key_id, lint=kind != "reply",
    )  # fmt: skip
    segments = count_segments(text)
    message = OutboundMessage(
        clinic_id=clinic_id,
        patient_id=patient.id,
        kind=kind,
        send_at=when,
        language=language,
        body=text,
        segments=segments.segments,
        encoding=segments.encoding,
        created_at=now,
        updated_at=now,
    )
    session.add(message)
    session.flush()
    return message


def get_message(*, session: Session, clinic_id: uuid.UUID, message_id: uuid.UUID) -> OutboundMessage:
    """One of the clinic's texts."""
    message = session.get(OutboundMessage, message_id)
    if message is None or message.clinic_id != clinic_id:
        raise NotFound("message")
    return message


def list_messages(
    *, session: Session, clinic_id: uuid.UUID, patient_id: uuid.UUID | None, limit: int, offset: int
) -> list[OutboundMessage]:
    """The clinic's texts, newest first."""
    query = select(OutboundMessage).where(OutboundMessage.clinic_id == clinic_id)
    if patient_id is not None:
        query = query.where(OutboundMessage.patient_id == patient_id)
    query = query.order_by(col(OutboundMessage.send_at).desc()).offset(offset).limit(limit)
    return list(session.exec(query))


def cancel_unsent(*, session: Session, patient_id: uuid.UUID, reason: str, now: datetime) -> int:
    """Cancel a patient's texts that have not reached a worker's gateway call yet."""
    result = session.execute(
        update(OutboundMessage)
        .where(col(OutboundMessage.patient_id) == patient_id, col(OutboundMessage.status).in_(UNSENT))
        .values(status=MessageStatus.CANCELLED, error_reason=reason[:255], updated_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def claim_due(*, session: Session, now: datetime, limit: int) -> list[tuple[uuid.UUID, int]]:
    """Move due rows from scheduled to queued; return each (id, segments). Safe under concurrent ticks."""
    _settle_before_claim(session=session, now=now)
    due = (
        select(OutboundMessage.id)
        .where(col(OutboundMessage.status) == MessageStatus.SCHEDULED, col(OutboundMessage.send_at) <= now)
        .order_by(col(OutboundMessage.send_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = session.execute(
        update(OutboundMessage)
        .where(col(OutboundMessage.id).in_(due.scalar_subquery()))
        .values(status=MessageStatus.QUEUED, updated_at=now)
        .returning(col(OutboundMessage.id), col(OutboundMessage.segments))
    ).all()
    quiet = _defer_quiet_hours(session=session, ids=[row[0] for row in claimed], now=now)
    due_now = [(row[0], row[1]) for row in claimed if row[0] not in quiet]
    return spend.hold_over_cap(session=session, claimed=due_now, now=now)  # the clinic's daily cap


def _settle_before_claim(*, session: Session, now: datetime) -> None:
    """Due rows that must not go any more: no consent, a cancelled visit, a paused or cancelled campaign.

    Checked again here, not only when things change, because a change can commit between planning and
    sending (a STOP, a visit cancelled in the clinic's schedule, a campaign paused mid-run).
    """
    due = (col(OutboundMessage.status) == MessageStatus.SCHEDULED, col(OutboundMessage.send_at) <= now)
    no_consent = select(Patient.id).where(
        (col(Patient.consent) != ConsentStatus.GRANTED) | col(Patient.undeliverable_reason).is_not(None)
    )
    cancelled_visit = select(Appointment.id).where(col(Appointment.status) == AppointmentStatus.CANCELLED)
    paused = select(Campaign.id).where(col(Campaign.status) == CampaignStatus.PAUSED)
    stopped = select(Campaign.id).where(col(Campaign.status) == CampaignStatus.CANCELLED)
    for where, values in (
        (col(OutboundMessage.patient_id).in_(no_consent), _cancelled("patient has not agreed to get texts")),
        (
            col(OutboundMessage.appointment_id).in_(cancelled_visit),
            _cancelled("the appointment was cancelled"),
        ),
        (col(OutboundMessage.campaign_id).in_(stopped), _cancelled("the campaign was cancelled")),
        (
            col(OutboundMessage.campaign_id).in_(paused),
            {"status": MessageStatus.HELD, "error_reason": CAMPAIGN_PAUSED},
        ),
    ):
        session.execute(update(OutboundMessage).where(*due, where).values({**values, "updated_at": now}))


def _cancelled(reason: str) -> dict[str, object]:
    return {"status": MessageStatus.CANCELLED, "error_reason": reason}


def _defer_quiet_hours(*, session: Session, ids: list[uuid.UUID], now: datetime) -> set[uuid.UUID]:
    """Put back the claimed texts that would reach a patient during their quiet hours; return their ids.

    Checked again at claim time because a text can become due long after it was planned (a retry, a
    clinic that changed its hours). Replies to a patient who is texting with a coordinator are exempt.
    """
    if not ids:
        return set()
    rows = session.execute(
        select(col(OutboundMessage.id), col(Patient.timezone), col(Clinic.quiet_start), col(Clinic.quiet_end))
        .join(Patient, col(Patient.id) == OutboundMessage.patient_id)
        .join(Clinic, col(Clinic.id) == OutboundMessage.clinic_id)
        .where(col(OutboundMessage.id).in_(ids), OutboundMessage.kind != "reply")
    ).all()
    waking: dict[datetime, list[uuid.UUID]] = {}
    unknown_zone: list[uuid.UUID] = []
    for message_id, tz, start, end in rows:
        try:
            wake = next_allowed(now, tz=tz, start=start, end=end)
        except (ZoneInfoNotFoundError, ValueError):  # a stored zone this system no longer knows
            unknown_zone.append(message_id)
            continue
        if wake is not None:
            waking.setdefault(wake, []).append(message_id)
    if unknown_zone:  # the most restrictive answer: held for staff, never a guess at the patient's night
        session.execute(
            update(OutboundMessage)
            .where(col(OutboundMessage.id).in_(unknown_zone))
            .values(status=MessageStatus.HELD, error_reason=UNKNOWN_ZONE, updated_at=now)
        )
    for wake, ids_then in waking.items():  # one statement per morning, not per text
        session.execute(
            update(OutboundMessage)
            .where(col(OutboundMessage.id).in_(ids_then))
            .values(status=MessageStatus.SCHEDULED, send_at=wake, updated_at=now)
        )
    return {message_id for ids_then in waking.values() for message_id in ids_then} | set(unknown_zone)


def requeue_stranded(
    *, session: Session, now: datetime, older_than: timedelta, limit: int
) -> list[tuple[uuid.UUID, int]]:
    """Touch and return rows queued long ago whose task was lost (broker flushed): safe to enqueue again."""
    stranded = (
        select(OutboundMessage.id)
        .where(
            col(OutboundMessage.status) == MessageStatus.QUEUED,
            col(OutboundMessage.updated_at) < now - older_than,
        )
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    touched = session.execute(
        update(OutboundMessage)
        .where(col(OutboundMessage.id).in_(stranded.scalar_subquery()))
        .values(updated_at=now)
        .returning(col(OutboundMessage.id), col(OutboundMessage.segments))
    )
    return [(row[0], row[1]) for row in touched]


def mark_stale_sending_unknown(*, session: Session, now: datetime, older_than: timedelta) -> int:
    """Rows stuck in `sending` (a worker died mid-call) become `unknown`: never resent blindly."""
    result = session.execute(
        update(OutboundMessage)
        .where(
            col(OutboundMessage.status) == MessageStatus.SENDING,
            col(OutboundMessage.updated_at) < now - older_than,
        )
        .values(status=MessageStatus.UNKNOWN, error_reason="no answer from the gateway", updated_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


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
        from outreach.messaging.status import record_failure

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


def _attempt(
    *,
    engine: Engine,
    message_id: uuid.UUID,
    gateway: SmsGateway,
    policy: SendPolicy,
    pace: Callable[[int], None] | None,
    segments: int | None,
    conn: Connection | None = None,
) -> tuple[str, str | None]:
    """Pace, take the row to `sending`, call the gateway; return (outcome, provider SID when accepted).

    The caller records accepted texts as sent (one at a time, or a batch's in one statement). `conn` is
    an autocommit PostgreSQL connection the caller holds for several texts; without it one is taken here.
    """
    if pace is not None:
        if segments is None:
            with engine.connect() as reader:
                segments = _queued_segments(conn=reader, message_id=message_id)
            if segments is None:
                return "skipped", None
        pace(segments)
    if conn is not None:
        sms = _begin_send(conn=conn, message_id=message_id, now=utcnow())
    else:
        with _begin_connection(engine) as own:
            sms = _begin_send(conn=own, message_id=message_id, now=utcnow())
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
    pace: Callable[[int], None] | None = None,
    segments: int | None = None,
) -> str:
    """Send one queued text at most once; return the status it ended in.

    Pacing waits before the row becomes `sending`: a STOP that arrives while we wait still wins, and a
    worker killed while waiting leaves a row that is simply queued again, not an unknown outcome.
    The hot path uses Core connections rather than ORM sessions: it runs once per text.
    """
    outcome, sid = _attempt(
        engine=engine, message_id=message_id, gateway=gateway, policy=policy, pace=pace, segments=segments
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
    pace: Callable[[int], None] | None = None,
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
    shared = _begin_connection(engine) if engine.dialect.name == "postgresql" else nullcontext(None)
    try:
        with shared as conn:
            for message_id, segments in items:
                outcome, sid = _attempt(
                    engine=engine,
                    message_id=message_id,
                    gateway=gateway,
                    policy=policy,
                    pace=pace,
                    segments=segments,
                    conn=conn,
                )
                outcomes[outcome] += 1
                if sid is not None:
                    accepted.append((message_id, sid))
    finally:
        _mark_sent(engine, accepted)
    return outcomes


def reconcile_unknown(
    *, engine: Engine, gateway: SmsGateway, policy: SendPolicy, older_than: timedelta, limit: int
) -> dict[str, int]:
    """Ask the provider about texts whose outcome we never heard.

    Found: the provider's status is applied. Not found: the request never arrived, so sending again
    cannot duplicate; it is retried until `max_attempts`, then failed. This also ends the loop of a
    text that crashes its worker every time.
    """
    from outreach.messaging.status import apply_status

    counts = {"found": 0, "retried": 0, "failed": 0}
    now = utcnow()
    with Session(engine) as session:
        rows = session.execute(
            core_select(
                col(OutboundMessage.id),
                col(OutboundMessage.created_at),
                col(OutboundMessage.body),
                col(Patient.phone),
                col(OutboundMessage.sender_id),
            )
            .join(Patient, col(Patient.id) == OutboundMessage.patient_id)
            .where(
                col(OutboundMessage.status) == MessageStatus.UNKNOWN,
                col(OutboundMessage.updated_at) < now - older_than,
            )
            .limit(limit)
        ).all()
    for message_id, created_at, body, phone, sender_id in rows:
        sms = OutboundSms(message_id=message_id, to=phone, body=body, sender_id=sender_id)
        try:
            receipt = gateway.lookup(sms, sent_after=created_at - timedelta(minutes=5))
        except GatewayError:
            continue  # the provider could not be asked now; the next run asks again
        with session_scope(engine) as session:
            if receipt is not None:
                apply_status(
                    session=session,
                    message_id=message_id,
                    provider_sid=receipt.provider_sid,
                    provider_status=receipt.status,
                    error_code=None,
                    now=utcnow(),
                )
                counts["found"] += 1
                continue
            message = session.get(OutboundMessage, message_id)
            if message is None or message.status != MessageStatus.UNKNOWN:
                continue
            retry = message.attempts < policy.max_attempts
            message.status = MessageStatus.SCHEDULED if retry else MessageStatus.FAILED
            message.send_at = utcnow() if retry else message.send_at
            message.error_reason = (
                None if retry else f"no record at the provider after {message.attempts} attempts"
            )
            message.updated_at = utcnow()
            session.add(message)
            counts["retried" if retry else "failed"] += 1
    return counts
