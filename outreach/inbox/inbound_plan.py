"""What one inbound text means and what it changes, decided without touching the database.

`plan` takes the text and what the lookup found about its sender (`Sender`) and returns a `Plan`: the
text to store, the thread it goes on (if a person should read it), a visit to confirm, a change of
consent, and the reply. Typed values only: the statements that carry them out, and their parameter names,
live in `inbound_sql`; running them is `inbound` (a session) or `receiver` (batches on PostgreSQL).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from outreach.clinics.hours import next_opening
from outreach.clinics.texts import program_name_for
from outreach.i18n import SUPPORTED, SystemText, find_urgent, negotiate, render_system
from outreach.inbox.models import InboundKind, Priority
from outreach.inbox.triage import Triage, classify
from outreach.patients.models import ConsentStatus

MESSAGES_PER_MONTH = 8


@dataclass(frozen=True, slots=True)
class IncomingSms:
    """The fields of Twilio's inbound webhook that outreach uses."""

    sid: str
    from_phone: str
    to_phone: str
    body: str
    account: str = ""  # the signing account as senders record it ("" for the deployment's own)
    messaging_service_sid: str = ""


@dataclass(frozen=True, slots=True)
class Received:
    """What happened to one inbound text, and the reply to send back (None for no reply)."""

    kind: InboundKind
    reply: str | None


@dataclass(frozen=True, slots=True)
class Sender:
    """What the lookup found: the clinic owning the number, and the patient texting it if there is one."""

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
class StoredText:
    """The inbound text as it is stored (filed on its sender's thread when they have one)."""

    sms: IncomingSms
    clinic_id: uuid.UUID | None
    patient_id: uuid.UUID | None
    language: str
    triage: Triage
    reply_to: uuid.UUID | None
    at: datetime


@dataclass(frozen=True, slots=True)
class ThreadTouch:
    """A text a person should read: its sender's thread is opened, reopened or raised by it."""

    clinic_id: uuid.UUID
    patient_id: uuid.UUID | None
    phone: str
    language: str
    triage: Triage
    campaign_id: uuid.UUID | None
    at: datetime


@dataclass(frozen=True, slots=True)
class Plan:
    """What one inbound text changes: the stored text, its thread, a visit, a change of consent."""

    received: Received
    store: StoredText
    thread: ThreadTouch | None = None
    confirm_visit: uuid.UUID | None = None
    # A change of consent goes through the patients service (ledger, unsent texts cancelled): a session.
    consent: ConsentStatus | None = None
    patient_id: uuid.UUID | None = None


def plan(*, sms: IncomingSms, sender: Sender | None, now: datetime) -> Plan:
    """What the text means and what to write for it, from what the lookup found about its sender."""
    if sender is None:  # not one of our numbers: kept for the record, no tenant to queue it for
        store = StoredText(sms, None, None, "und", Triage(InboundKind.UNMATCHED), None, now)
        return Plan(Received(InboundKind.UNMATCHED, None), store)
    if sender.patient_id is None:
        return _unmatched(sms, sender, now)
    language = negotiate(sender.language, clinic_default=sender.clinic_language).language
    triage = classify(body=sms.body, language=language, has_visit=sender.visit_id is not None)
    store = StoredText(sms, sender.clinic_id, sender.patient_id, language, triage, sender.answered_id, now)
    if not triage.queued:  # handled here; filed on the sender's thread only if they already have one
        return _act(triage, sender, store, None, now)
    thread = ThreadTouch(
        sender.clinic_id, sender.patient_id, sms.from_phone, language, triage, sender.answered_campaign, now
    )
    return _act(triage, sender, store, thread, now)


def _unmatched(sms: IncomingSms, sender: Sender, now: datetime) -> Plan:
    # We do not know this person's language, so red flags are looked for in every language we have.
    phrase = next((p for lang in SUPPORTED if (p := find_urgent(sms.body, language=lang))), None)
    priority = Priority.URGENT if phrase else Priority.NORMAL
    triage = Triage(InboundKind.UNMATCHED, priority=priority, phrase=phrase)
    thread = ThreadTouch(sender.clinic_id, None, sms.from_phone, "und", triage, None, now)
    store = StoredText(sms, sender.clinic_id, None, "und", triage, None, now)
    if phrase is None:
        return Plan(Received(InboundKind.UNMATCHED, None), store, thread)
    values = {"clinic_name": sender.clinic_name, "emergency_number": sender.emergency_number}
    safety = render_system(SystemText.URGENT_SAFETY, tag=sender.clinic_language, values=values)
    return Plan(Received(InboundKind.UNMATCHED, safety.body), store, thread)


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


def _act(
    triage: Triage, sender: Sender, store: StoredText, thread: ThreadTouch | None, now: datetime
) -> Plan:
    kind = triage.kind
    if sender.consent != ConsentStatus.GRANTED and kind not in _CARRIER_REQUIRED:
        # No texts to a patient who opted out, but those the carriers require.
        return Plan(Received(kind, None), store, thread)
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
    visit = None
    if kind == InboundKind.OPTOUT:
        consent = ConsentStatus.REVOKED
    elif kind == InboundKind.OPTIN:
        consent = ConsentStatus.GRANTED
    elif kind == InboundKind.CONFIRM:
        if sender.visit_id is None:
            return Plan(Received(kind, None), store, thread)
        visit = sender.visit_id
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
        return Plan(Received(kind, None), store, thread, visit, consent, sender.patient_id)
    rendered = render_system(
        text,
        tag=sender.language,
        clinic_default=sender.clinic_language,
        values=values,
        tz=sender.timezone or "UTC",
    )
    return Plan(Received(kind, rendered.body), store, thread, visit, consent, sender.patient_id)
