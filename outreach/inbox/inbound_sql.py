"""The inbound pipeline's statements, and one typed function per statement that builds its parameters.

Built once at import: the webhook runs them for every text (the receiver also PREPAREs them on each pooled
PostgreSQL connection). Parameter names are private to this module and `threads`, which owns the thread
statements; everything else passes typed values (`IncomingSms`, `StoredText`, `ThreadTouch`, `Plan`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import String, Text, Uuid, and_, bindparam, insert, literal, update
from sqlalchemy import select as core_select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import Label
from sqlmodel import col, select

from outreach.clinics.models import Clinic
from outreach.db import UTCDateTime, time_ordered_id
from outreach.inbox.inbound_plan import IncomingSms, Plan, Sender, StoredText
from outreach.inbox.models import InboundMessage
from outreach.inbox.threads import (
    ADOPT,
    REOPENED,
    THREAD_ID,
    UPSERT,
    adopt_params,
    thread_key_params,
    thread_params,
)
from outreach.messaging.models import OutboundMessage
from outreach.patients.models import Appointment, AppointmentStatus, Patient
from outreach.security.crypto import active
from outreach.senders.ownership import owns_number

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
# The sender's number by its blind index: under the newest index key, or the previous one until a
# rotation has rewritten every row (the same value twice when there is one key). One indexed lookup.
_FROM = (bindparam("from_hash", type_=String), bindparam("from_hash_before", type_=String))
# Everything `plan` needs, in one round trip; each column is labelled with the `Sender` field it fills.
_SENDER_COLUMNS: list[Label[Any]] = [
    col(Clinic.id).label("clinic_id"),
    col(Clinic.name).label("clinic_name"),
    col(Clinic.phone).label("clinic_phone"),
    col(Clinic.program_name).label("program_name"),
    col(Clinic.emergency_number).label("emergency_number"),
    col(Clinic.default_language).label("clinic_language"),
    col(Patient.id).label("patient_id"),
    col(Patient.language).label("language"),
    col(Patient.timezone).label("timezone"),
    col(Patient.consent).label("consent"),
    col(OutboundMessage.id).label("answered_id"),
    col(OutboundMessage.campaign_id).label("answered_campaign"),
    col(Appointment.id).label("visit_id"),
    col(Appointment.starts_at).label("visit_starts_at"),
    col(Clinic.timezone).label("clinic_timezone"),
    col(Clinic.staffed_start).label("staffed_start"),
    col(Clinic.staffed_end).label("staffed_end"),
    col(Clinic.staffed_days).label("staffed_days"),
    col(Clinic.program_names).label("program_names"),
]
LOOKUP = (
    core_select(*_SENDER_COLUMNS)
    .outerjoin(Patient, and_(col(Patient.clinic_id) == Clinic.id, col(Patient.phone_hash).in_(_FROM)))
    .outerjoin(OutboundMessage, col(OutboundMessage.id) == _NEWEST_SENT)
    .outerjoin(Appointment, col(Appointment.id) == _NEXT_VISIT)
    .where(owns_number())
)

# The text itself, on its thread when the sender has one (the upsert before it made sure, if it should).
STORE = insert(InboundMessage).values(
    id=bindparam("m_id", type_=Uuid()),
    provider_sid=bindparam("m_sid"),
    clinic_id=bindparam("m_clinic", type_=Uuid()),
    patient_id=bindparam("m_patient", type_=Uuid()),
    from_phone=bindparam("m_from", type_=Text),  # encrypted by `store_params` (both paths bind it raw)
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

_SENDER_FIELDS = tuple(column.name for column in _SENDER_COLUMNS)
assert set(_SENDER_FIELDS) == {f.name for f in fields(Sender)}, "LOOKUP's labels must be Sender's fields"


@dataclass(frozen=True, slots=True)
class Write:
    """One statement of a text's transaction (a statement per dialect when their spelling differs)."""

    statement: Executable | Mapping[str, Executable]
    params: dict[str, Any]

    def for_dialect(self, name: str) -> Executable:
        """The statement as this database spells it."""
        return self.statement if isinstance(self.statement, Executable) else self.statement[name]


def lookup_params(sms: IncomingSms, now: datetime) -> dict[str, Any]:
    """`LOOKUP`'s parameters for a text."""
    newest, before = active().lookups(sms.from_phone)
    return {
        "to_phone": sms.to_phone,
        "from_hash": newest,
        "from_hash_before": before,
        "now": now,
        "account": sms.account,
        "messaging_service_sid": sms.messaging_service_sid,
    }


def sender_of(row: Sequence[Any] | None) -> Sender | None:
    """The `Sender` a `LOOKUP` row describes, field by field by the columns' labels (None: no row)."""
    return None if row is None else Sender(**dict(zip(_SENDER_FIELDS, row, strict=True)))


def store_params(text: StoredText, reply: str | None = None) -> dict[str, Any]:
    """`STORE`'s parameters: the text, what outreach answered by itself (kept so staff can read it), and
    the key of the thread it is filed on if there is one."""
    triage = text.triage
    return {
        "m_id": time_ordered_id(),
        "m_sid": text.sms.sid,
        "m_clinic": text.clinic_id,
        "m_patient": text.patient_id,
        "m_from": active().encrypt(text.sms.from_phone),
        "m_to": text.sms.to_phone,
        "m_body": text.sms.body,
        "m_language": text.language,
        "m_kind": triage.kind.value,
        "m_answer": triage.answer,
        "m_priority": triage.priority.value,
        "m_phrase": triage.phrase,
        "m_reply_to": text.reply_to,
        "m_reply": reply,
        "now": text.at,
        **thread_key_params(clinic_id=text.clinic_id, patient_id=text.patient_id, phone=text.sms.from_phone),
    }


def confirm_params(visit_id: uuid.UUID) -> dict[str, Any]:
    """`CONFIRM_VISIT`'s parameters."""
    return {"visit": visit_id}


def writes(decided: Plan) -> list[Write]:
    """The statements that carry out a plan, in order.

    A text for a person: its thread first, so the text is filed on it, then any reopen event; a replayed
    SID fails at the text and rolls the thread's change back with it. A number no patient has, while index
    keys rotate: its thread is moved to the newest key's index before anything looks for it.
    """
    text = decided.store
    adopt = adopt_params(clinic_id=text.clinic_id, patient_id=text.patient_id, phone=text.sms.from_phone)
    out = [Write(ADOPT, adopt)] if adopt else []
    store = Write(STORE, store_params(text, decided.received.reply))
    if decided.thread is None:
        out.append(store)
    else:
        thread = thread_params(decided.thread, sealed_phone=store.params["m_from"])
        out += [Write(UPSERT, thread), store, Write(REOPENED, thread)]
    if decided.confirm_visit is not None:
        out.append(Write(CONFIRM_VISIT, confirm_params(decided.confirm_visit)))
    return out
