"""Handling a patient's reply: store it once, act on keywords now, route the rest to the care team's queue.

Opt-outs take effect inside the webhook's own transaction, so a STOP that is acknowledged has already
cancelled every unsent text. Texts a person should read join the sender's thread (one per patient or
unknown number), which a new message reopens after it was resolved.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from outreach.clinics.models import Clinic
from outreach.i18n import SUPPORTED, SystemText, find_urgent, negotiate, render_system
from outreach.inbox.models import InboundKind, InboundMessage, Priority, Thread
from outreach.inbox.threads import attach, thread_for
from outreach.inbox.triage import Triage, classify, next_appointment
from outreach.messaging.models import OutboundMessage
from outreach.patients.models import AppointmentStatus, ConsentStatus, Patient
from outreach.patients.service import opt_out, record_consent

MESSAGES_PER_MONTH = 8


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


def receive(*, session: Session, sms: IncomingSms, now: datetime) -> Received:
    """Store an inbound text once (by SID), apply what it means, and queue it if a person should read it."""
    # A replayed SID is caught by the unique index when the text is stored (DuplicateInbound): everything
    # this call did before that is rolled back with it, and nothing it does after runs. No lookup first:
    # every webhook would pay a round trip for what Twilio retries only rarely.
    found = session.exec(
        select(Clinic, Patient)
        .outerjoin(Patient, and_(col(Patient.clinic_id) == Clinic.id, col(Patient.phone) == sms.from_phone))
        .where(Clinic.phone == sms.to_phone)
    ).first()
    if found is None:  # not one of our numbers: kept for the record, no tenant to queue it for
        _store(
            session, sms, clinic_id=None, patient=None, language="und", triage=Triage(InboundKind.UNMATCHED)
        )
        return Received(InboundKind.UNMATCHED, None)
    clinic, patient = found
    if patient is None:
        return _receive_unmatched(session=session, sms=sms, clinic=clinic, now=now)
    language = negotiate(patient.language, clinic_default=clinic.default_language).language
    triage = classify(session=session, body=sms.body, language=language, patient=patient, now=now)
    answered = _answered(session=session, patient=patient)
    thread = thread_for(
        session=session,
        clinic_id=clinic.id,
        patient=patient,
        phone=sms.from_phone,
        create=triage.queued,
        language=language,
        triage=triage,
        now=now,
    )
    if thread is not None and triage.queued:
        attach(
            session=session,
            thread=thread,
            triage=triage,
            language=language,
            now=now,
            campaign_id=answered.campaign_id if answered else None,
        )
    _store(
        session,
        sms,
        clinic_id=clinic.id,
        patient=patient,
        language=language,
        triage=triage,
        now=now,
        thread=thread,
        in_reply_to=answered,
    )
    reply = _act(session=session, triage=triage, clinic=clinic, patient=patient, now=now)
    return Received(triage.kind, reply)


def _receive_unmatched(*, session: Session, sms: IncomingSms, clinic: Clinic, now: datetime) -> Received:
    # We do not know this person's language, so red flags are looked for in every language we have.
    phrase = next((p for lang in SUPPORTED if (p := find_urgent(sms.body, language=lang))), None)
    priority = Priority.URGENT if phrase else Priority.NORMAL
    triage = Triage(InboundKind.UNMATCHED, priority=priority, phrase=phrase)
    thread = thread_for(
        session=session,
        clinic_id=clinic.id,
        patient=None,
        phone=sms.from_phone,
        create=True,
        language="und",
        triage=triage,
        now=now,
    )
    assert thread is not None  # create=True always gives a thread
    attach(session=session, thread=thread, triage=triage, language="und", now=now, campaign_id=None)
    _store(
        session, sms, clinic_id=clinic.id, patient=None, language="und", triage=triage, now=now, thread=thread
    )
    if phrase is None:
        return Received(InboundKind.UNMATCHED, None)
    values = {"clinic_name": clinic.name, "emergency_number": clinic.emergency_number}
    safety = render_system(SystemText.URGENT_SAFETY, tag=clinic.default_language, values=values)
    return Received(InboundKind.UNMATCHED, safety.body)


def _answered(*, session: Session, patient: Patient) -> OutboundMessage | None:
    """The newest text we sent the patient: the one a reply most likely answers."""
    return session.exec(
        select(OutboundMessage)
        .where(OutboundMessage.patient_id == patient.id, col(OutboundMessage.sent_at).is_not(None))
        .order_by(col(OutboundMessage.sent_at).desc())
        .limit(1)
    ).first()


def _store(
    session: Session,
    sms: IncomingSms,
    *,
    clinic_id: uuid.UUID | None,
    patient: Patient | None,
    language: str,
    triage: Triage,
    now: datetime | None = None,
    thread: Thread | None = None,
    in_reply_to: OutboundMessage | None = None,
) -> None:
    message = InboundMessage(
        provider_sid=sms.sid,
        clinic_id=clinic_id,
        patient_id=patient.id if patient else None,
        from_phone=sms.from_phone,
        to_phone=sms.to_phone,
        body=sms.body,
        language=language,
        kind=triage.kind,
        answer=triage.answer,
        priority=triage.priority,
        matched_phrase=triage.phrase,
        thread_id=thread.id if thread else None,
        in_reply_to_id=in_reply_to.id if in_reply_to else None,
    )
    if now is not None:
        message.received_at = now
    session.add(message)
    try:
        session.flush()
    except IntegrityError as exc:  # the same SID arrived twice at once; the first one wins
        raise DuplicateInbound(sms.sid) from exc


_REPLIES = {
    InboundKind.HELP: SystemText.HELP,
    InboundKind.URGENT: SystemText.URGENT_SAFETY,
    InboundKind.CANCEL_REQUEST: SystemText.CANCEL_ACK,  # a person changes the schedule, from the queue
}
_CARRIER_REQUIRED = (InboundKind.OPTIN, InboundKind.HELP, InboundKind.OPTOUT)


def _act(*, session: Session, triage: Triage, clinic: Clinic, patient: Patient, now: datetime) -> str | None:
    values: dict[str, object] = {
        "clinic_name": clinic.name,
        "clinic_phone": clinic.phone,
        "program_name": clinic.program_name,
        "messages_per_month": MESSAGES_PER_MONTH,
        "emergency_number": clinic.emergency_number,
    }
    kind = triage.kind
    if patient.consent != ConsentStatus.GRANTED and kind not in _CARRIER_REQUIRED:
        return None  # no texts to a patient who opted out, except the answers carriers require
    text = _REPLIES.get(kind)
    if kind == InboundKind.OPTOUT:
        opt_out(session=session, patient=patient, source="patient replied STOP", now=now)
        text = SystemText.OPTOUT_CONFIRMATION
    elif kind == InboundKind.OPTIN:
        record_consent(
            session=session,
            patient=patient,
            status=ConsentStatus.GRANTED,
            source="patient replied START",
            now=now,
        )
        text = SystemText.OPTIN_CONFIRMATION
    elif kind == InboundKind.CONFIRM:
        appointment = next_appointment(session=session, patient=patient, now=now)
        if appointment is None:
            return None
        appointment.status = AppointmentStatus.CONFIRMED
        session.add(appointment)
        values |= {"appointment_date": appointment.starts_at, "appointment_time": appointment.starts_at}
        text = SystemText.CONFIRM_ACK
    elif kind == InboundKind.CHECKIN_ANSWER:
        text = SystemText.CHECKIN_WORSE_ACK if triage.answer == 3 else SystemText.CHECKIN_ACK
    if text is None:
        return None
    rendered = render_system(
        text, tag=patient.language, clinic_default=clinic.default_language, values=values, tz=patient.timezone
    )
    return rendered.body
