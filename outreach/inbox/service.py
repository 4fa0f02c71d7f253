"""Handling a patient's reply: store it once, act on keywords now, route the rest to the care team's queue.

One inbound text is three steps. `LOOKUP` reads, in one query, the clinic owning the number, the patient
texting it, the text of ours they most likely answer and their next visit. `plan` then decides, without
touching the database, what the text means and what to write: the thread upsert (see `threads`), the
stored text, a confirmed visit, a change of consent, and the reply. Last, the writes run in one
transaction. The webhook runs these steps on PostgreSQL with its own async connections (`receiver`); this
module runs them on a SQLAlchemy session, for SQLite and for changes of consent.

Opt-outs take effect inside the webhook's own transaction, so a STOP that is acknowledged has already
cancelled every unsent text. A replayed MessageSid is caught by the unique index when the text is
stored: the whole transaction rolls back and the replay gets no second effect.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from sqlalchemy import String, Uuid, and_, bindparam, insert, literal, update
from sqlalchemy import select as core_select
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlalchemy.sql.base import Executable
from sqlmodel import Session, col, select

from outreach.clinics.hours import next_opening
from outreach.clinics.models import Clinic
from outreach.clinics.texts import program_name_for
from outreach.db import UTCDateTime, time_ordered_id
from outreach.i18n import SUPPORTED, SystemText, find_urgent, negotiate, render_system
from outreach.inbox.models import InboundKind, InboundMessage, Priority
from outreach.inbox.threads import REOPENED, THREAD_ID, UPSERT, party, upsert_params
from outreach.inbox.triage import Triage, classify
from outreach.messaging.models import OutboundMessage
from outreach.patients.models import Appointment, AppointmentStatus, ConsentStatus, Patient
from outreach.patients.service import opt_out, record_consent

MESSAGES_PER_MONTH = 8

# The newest text we sent the patient: the one a reply most likely answers (ties broken by id).
_sent = aliased(OutboundMessage)
_NEWEST_SENT = (
    select(_sent.id)
    .where(_sent.patient_id == Patient.id, col(_sent.sent_at).is_not(None))
    .order_by(col(_sent.sent_at).desc(), col(_sent.id).desc())
    .limit(1)
    .correlate(Patient)
    .scalar_subquery()
)
_NOW = bindparam("now", type_=UTCDateTime())
# The patient's next booked or confirmed visit: what a bare 1 or 2 answers.
_visit = aliased(Appointment)
_NEXT_VISIT = (
    select(_visit.id)
    .where(
        _visit.patient_id == Patient.id,
        col(_visit.starts_at) > _NOW,
        (col(_visit.status) == literal(AppointmentStatus.BOOKED.value))
        | (col(_visit.status) == literal(AppointmentStatus.CONFIRMED.value)),
    )
    .order_by(col(_visit.starts_at), col(_visit.id))
    .limit(1)
    .correlate(Patient)
    .scalar_subquery()
)
_FROM = bindparam("from_phone", type_=String)
# Everything `plan` needs, in one round trip; the columns are `Sender`'s fields, in order.
LOOKUP = (
    core_select(
        col(Clinic.id),
        col(Clinic.name),
        col(Clinic.phone),
        col(Clinic.program_name),
        col(Clinic.emergency_number),
        col(Clinic.default_language),
        col(Patient.id),
        col(Patient.language),
        col(Patient.timezone),
        col(Patient.consent),
        col(OutboundMessage.id),
        col(OutboundMessage.campaign_id),
        col(Appointment.id),
        col(Appointment.starts_at),
        col(Clinic.timezone),
        col(Clinic.staffed_start),
        col(Clinic.staffed_end),
        col(Clinic.staffed_days),
        col(Clinic.program_names),
    )
    .outerjoin(Patient, and_(col(Patient.clinic_id) == Clinic.id, col(Patient.phone) == _FROM))
    .outerjoin(OutboundMessage, col(OutboundMessage.id) == _NEWEST_SENT)
    .outerjoin(Appointment, col(Appointment.id) == _NEXT_VISIT)
    .where(col(Clinic.phone) == bindparam("to_phone", type_=String))
)

# The text itself, on its thread when the sender has one (the upsert before it made sure, if it should).
STORE = insert(InboundMessage).values(
    id=bindparam("m_id", type_=Uuid()),
    provider_sid=bindparam("m_sid"),
    clinic_id=bindparam("m_clinic", type_=Uuid()),
    patient_id=bindparam("m_patient", type_=Uuid()),
    from_phone=bindparam("m_from"),
    to_phone=bindparam("m_to"),
    body=bindparam("m_body"),
    language=bindparam("m_language"),
    kind=bindparam("m_kind"),
    answer=bindparam("m_answer"),
    priority=bindparam("m_priority"),
    matched_phrase=bindparam("m_phrase"),
    received_at=_NOW,
    thread_id=THREAD_ID,
    in_reply_to_id=bindparam("m_reply_to", type_=Uuid()),
    reply_body=bindparam("m_reply"),
)
CONFIRM_VISIT = (
    update(Appointment)
    .where(col(Appointment.id) == bindparam("visit", type_=Uuid()))
    .values(status=AppointmentStatus.CONFIRMED.value)
)


@dataclass(frozen=True, slots=True)
class Received:
    """What happened to one inbound text, and the reply to send back (None for no reply)."""

    kind: InboundKind
    reply: str | None


@dataclass(frozen=True, slots=True)
class IncomingSms:
    """The fields of Twilio's inbound webhook that outreach uses."""

    sid: str
    from_phone: str
    to_phone: str
    body: str


class DuplicateInbound(Exception):
    """A concurrent delivery of the same inbound SID."""


@dataclass(frozen=True, slots=True)
class Sender:
    """What `LOOKUP` found: the clinic owning the number, and the patient texting it if there is one."""

    clinic_id: uuid.UUID
    clinic_name: str
    clinic_phone: str
    program_name: str
    emergency_number: str
    clinic_language: str
    patient_id: uuid.UUID | None
    language: str | None
    timezone: str | None
    consent: str | None
    answered_id: uuid.UUID | None
    answered_campaign: uuid.UUID | None
    visit_id: uuid.UUID | None
    visit_starts_at: datetime | None
    clinic_timezone: str = "UTC"
    staffed_start: time | None = None
    staffed_end: time | None = None
    staffed_days: str = ""
    program_names: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Write:
    """One statement of a text's transaction (a statement per dialect when their spelling differs)."""

    statement: Executable | Mapping[str, Executable]
    params: dict[str, Any]

    def for_dialect(self, name: str) -> Executable:
        """The statement as this database spells it."""
        return self.statement if isinstance(self.statement, Executable) else self.statement[name]


@dataclass(frozen=True, slots=True)
class Plan:
    """What one inbound text changes: its writes, a change of consent if any, and the outcome."""

    received: Received
    writes: list[Write] = field(default_factory=list)
    # A change of consent goes through the patients service (ledger, unsent texts cancelled): a session.
    consent: ConsentStatus | None = None
    patient_id: uuid.UUID | None = None


def lookup_params(sms: IncomingSms, now: datetime) -> dict[str, Any]:
    """`LOOKUP`'s parameters for a text."""
    return {"to_phone": sms.to_phone, "from_phone": sms.from_phone, "now": now}


def plan(*, sms: IncomingSms, found: Row[Any] | tuple[Any, ...] | None, now: datetime) -> Plan:
    """What the text means and what to write for it, from what `LOOKUP` found; the stored text keeps the
    answer outreach sent by itself, so staff can read it later."""
    decided = _plan(sms=sms, found=found, now=now)
    for write in decided.writes:
        if write.statement is STORE:
            write.params["m_reply"] = decided.received.reply
    return decided


def _plan(*, sms: IncomingSms, found: Row[Any] | tuple[Any, ...] | None, now: datetime) -> Plan:
    if found is None:  # not one of our numbers: kept for the record, no tenant to queue it for
        triage = Triage(InboundKind.UNMATCHED)
        store = _store(sms, triage, clinic_id=None, patient_id=None, language="und", now=now, reply_to=None)
        return Plan(Received(InboundKind.UNMATCHED, None), [store])
    sender = Sender(*found)
    if sender.patient_id is None:
        return _unmatched(sms, sender, now)
    language = negotiate(sender.language, clinic_default=sender.clinic_language).language
    triage = classify(body=sms.body, language=language, has_visit=sender.visit_id is not None)
    store = _store(
        sms,
        triage,
        clinic_id=sender.clinic_id,
        patient_id=sender.patient_id,
        language=language,
        now=now,
        reply_to=sender.answered_id,
    )
    if not triage.queued:  # handled here; filed on the sender's thread only if they already have one
        return _act(triage, sender, [store], now)
    values = upsert_params(
        clinic_id=sender.clinic_id,
        patient_id=sender.patient_id,
        phone=sms.from_phone,
        language=language,
        triage=triage,
        campaign_id=sender.answered_campaign,
        now=now,
    )
    return _act(triage, sender, _queued(values, store), now)


def _store(
    sms: IncomingSms,
    triage: Triage,
    *,
    clinic_id: uuid.UUID | None,
    patient_id: uuid.UUID | None,
    language: str,
    now: datetime,
    reply_to: uuid.UUID | None,
) -> Write:
    """The text's INSERT, filed on the sender's thread if they have one."""
    return Write(
        STORE,
        {
            "m_id": time_ordered_id(),
            "m_sid": sms.sid,
            "m_clinic": clinic_id,
            "m_patient": patient_id,
            "m_from": sms.from_phone,
            "m_to": sms.to_phone,
            "m_body": sms.body,
            "m_language": language,
            "m_kind": triage.kind.value,
            "m_answer": triage.answer,
            "m_priority": triage.priority.value,
            "m_phrase": triage.phrase,
            "m_reply_to": reply_to,
            "m_reply": None,  # the automatic answer, once `plan` knows it
            "now": now,
            "t_clinic": clinic_id,
            "t_party": party(patient_id=patient_id, phone=sms.from_phone),
        },
    )


def _queued(thread: dict[str, Any], store: Write) -> list[Write]:
    """A text for a person: its thread first, so the text is filed on it, then any reopen event.

    A replayed SID fails at the text and rolls the thread's change back with it.
    """
    return [Write(UPSERT, thread), store, Write(REOPENED, thread)]


def _unmatched(sms: IncomingSms, sender: Sender, now: datetime) -> Plan:
    # We do not know this person's language, so red flags are looked for in every language we have.
    phrase = next((p for lang in SUPPORTED if (p := find_urgent(sms.body, language=lang))), None)
    priority = Priority.URGENT if phrase else Priority.NORMAL
    triage = Triage(InboundKind.UNMATCHED, priority=priority, phrase=phrase)
    values = upsert_params(
        clinic_id=sender.clinic_id,
        patient_id=None,
        phone=sms.from_phone,
        language="und",
        triage=triage,
        campaign_id=None,
        now=now,
    )
    store = _store(
        sms, triage, clinic_id=sender.clinic_id, patient_id=None, language="und", now=now, reply_to=None
    )
    writes = _queued(values, store)
    if phrase is None:
        return Plan(Received(InboundKind.UNMATCHED, None), writes)
    values_ = {"clinic_name": sender.clinic_name, "emergency_number": sender.emergency_number}
    safety = render_system(SystemText.URGENT_SAFETY, tag=sender.clinic_language, values=values_)
    return Plan(Received(InboundKind.UNMATCHED, safety.body), writes)


_REPLIES = {
    InboundKind.HELP: SystemText.HELP,
    InboundKind.URGENT: SystemText.URGENT_SAFETY,
    InboundKind.CANCEL_REQUEST: SystemText.CANCEL_ACK,  # a person changes the schedule, from the queue
    InboundKind.CHECKIN_ANSWER: SystemText.CHECKIN_ACK,
    InboundKind.OPTOUT: SystemText.OPTOUT_CONFIRMATION,
    InboundKind.OPTIN: SystemText.OPTIN_CONFIRMATION,
    InboundKind.CONFIRM: SystemText.CONFIRM_ACK,
}
_CARRIER_REQUIRED = (InboundKind.OPTIN, InboundKind.HELP, InboundKind.OPTOUT)


def _act(triage: Triage, sender: Sender, writes: list[Write], now: datetime) -> Plan:
    kind = triage.kind
    if sender.consent != ConsentStatus.GRANTED and kind not in _CARRIER_REQUIRED:
        return Plan(Received(kind, None), writes)  # no texts to a patient who opted out, but those required
    language = negotiate(sender.language, clinic_default=sender.clinic_language).language
    program = program_name_for(name=sender.program_name, names=sender.program_names, language=language)
    values: dict[str, object] = {
        "clinic_name": sender.clinic_name,
        "clinic_phone": sender.clinic_phone,
        "program_name": program,
        "messages_per_month": MESSAGES_PER_MONTH,
        "emergency_number": sender.emergency_number,
    }
    text = _REPLIES.get(kind)
    consent = None
    if kind == InboundKind.OPTOUT:
        consent = ConsentStatus.REVOKED
    elif kind == InboundKind.OPTIN:
        consent = ConsentStatus.GRANTED
    elif kind == InboundKind.CONFIRM:
        if sender.visit_id is None:
            return Plan(Received(kind, None), writes)
        writes.append(Write(CONFIRM_VISIT, {"visit": sender.visit_id}))
        values |= {"appointment_date": sender.visit_starts_at, "appointment_time": sender.visit_starts_at}
    elif kind == InboundKind.CHECKIN_ANSWER and triage.answer == 3:
        text = SystemText.CHECKIN_WORSE_ACK
    elif kind == InboundKind.MESSAGE:  # outside staffed hours, say when the team will answer
        opening = next_opening(
            now=now, tz=sender.clinic_timezone, start=sender.staffed_start, end=sender.staffed_end,
            days=sender.staffed_days or "",
        )  # fmt: skip
        if opening is not None:
            text, values["reply_by"] = SystemText.RECEIVED_ACK, opening
    if text is None:
        return Plan(Received(kind, None), writes, consent, sender.patient_id)
    rendered = render_system(
        text,
        tag=sender.language,
        clinic_default=sender.clinic_language,
        values=values,
        tz=sender.timezone or "UTC",
    )
    return Plan(Received(kind, rendered.body), writes, consent, sender.patient_id)


def apply(connection: Connection, writes: list[Write]) -> None:
    """Run a text's writes on a SQLAlchemy connection, inside the caller's transaction."""
    dialect = connection.dialect.name
    for write in writes:
        try:
            connection.execute(write.for_dialect(dialect), write.params)
        except IntegrityError as exc:
            if write.statement is STORE:  # the same SID arrived twice at once; the first one wins
                raise DuplicateInbound(write.params["m_sid"]) from exc
            raise


def change_consent(*, session: Session, decided: Plan, now: datetime) -> None:
    """A STOP or START from the patient, through the patients service (ledger, unsent texts cancelled)."""
    if decided.consent is None:
        return
    patient = session.get(Patient, decided.patient_id)
    assert patient is not None  # LOOKUP found them; patients are never deleted
    if decided.consent == ConsentStatus.REVOKED:
        opt_out(session=session, patient=patient, source="patient replied STOP", now=now)
    else:
        record_consent(
            session=session, patient=patient, status=decided.consent, source="patient replied START", now=now
        )


def receive(*, session: Session, sms: IncomingSms, now: datetime) -> Received:
    """Store, act on and route one inbound text inside the session's transaction (the caller commits)."""
    connection = session.connection()
    found = connection.execute(LOOKUP, lookup_params(sms, now)).first()
    decided = plan(sms=sms, found=found, now=now)
    apply(connection, decided.writes)
    change_consent(session=session, decided=decided, now=now)
    return decided.received
