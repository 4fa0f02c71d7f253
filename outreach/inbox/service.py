"""Handling a patient's reply: store it once, act on keywords now, answer in the patient's language.

Opt-outs take effect inside the webhook's own transaction, so a STOP that is acknowledged has already
cancelled every unsent text. Everything that is not a keyword is stored for the care team.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from outreach.clinics.models import Clinic
from outreach.i18n import SystemText, find_urgent, match_keyword, negotiate, render_system
from outreach.inbox.models import InboundKind, InboundMessage, Priority
from outreach.patients.models import Appointment, AppointmentStatus, ConsentStatus, Patient
from outreach.patients.service import opt_out, record_consent

MESSAGES_PER_MONTH = 8


@dataclass(frozen=True, slots=True)
class Received:
    """What happened to one inbound text, and the reply to send back (None for no reply)."""

    kind: InboundKind
    reply: str | None
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class IncomingSms:
    """The fields of Twilio's inbound webhook that outreach uses."""

    sid: str
    from_phone: str
    to_phone: str
    body: str


def receive(*, session: Session, sms: IncomingSms, now: datetime) -> Received:
    """Store an inbound text once (by SID) and apply what it means."""
    if session.exec(select(InboundMessage.id).where(InboundMessage.provider_sid == sms.sid)).first():
        return Received(InboundKind.MESSAGE, None, duplicate=True)
    clinic = session.exec(select(Clinic).where(Clinic.phone == sms.to_phone)).first()
    patient = (
        session.exec(
            select(Patient).where(Patient.clinic_id == clinic.id, Patient.phone == sms.from_phone)
        ).first()
        if clinic
        else None
    )
    if clinic is None or patient is None:
        _store(session, sms, clinic=clinic, patient=None, language="und", kind=InboundKind.UNMATCHED, now=now)
        return Received(InboundKind.UNMATCHED, None)
    language = negotiate(patient.language, clinic_default=clinic.default_language).language
    kind, answer, priority, phrase = _classify(sms.body, language, patient=patient, session=session, now=now)
    _store(
        session,
        sms,
        clinic=clinic,
        patient=patient,
        language=language,
        kind=kind,
        now=now,
        answer=answer,
        priority=priority,
        phrase=phrase,
    )
    reply = _act(session=session, kind=kind, answer=answer, clinic=clinic, patient=patient, now=now)
    return Received(kind, reply)


def _classify(
    body: str, language: str, *, patient: Patient, session: Session, now: datetime
) -> tuple[InboundKind, int | None, Priority, str | None]:
    matched = match_keyword(body, language=language)
    if matched is not None and matched.kind in ("optout", "optin", "help"):
        return InboundKind(matched.kind), None, Priority.NORMAL, None
    urgent = find_urgent(body, language=language)
    if urgent is not None:
        return InboundKind.URGENT, None, Priority.URGENT, urgent
    if matched is None:
        return InboundKind.MESSAGE, None, Priority.NORMAL, None
    upcoming = _next_appointment(session=session, patient=patient, now=now)
    value = matched.value
    if matched.kind == "confirm" or (matched.kind == "answer" and value == 1 and upcoming):
        return InboundKind.CONFIRM, 1, Priority.NORMAL, None
    if matched.kind == "cancel" or (matched.kind == "answer" and value == 2 and upcoming):
        return InboundKind.CANCEL_REQUEST, 2, Priority.HIGH, None
    priority = Priority.HIGH if value == 3 else Priority.NORMAL  # 3 means "worse" on every check-in
    return InboundKind.CHECKIN_ANSWER, value, priority, None


def _next_appointment(*, session: Session, patient: Patient, now: datetime) -> Appointment | None:
    return session.exec(
        select(Appointment)
        .where(
            Appointment.patient_id == patient.id,
            col(Appointment.starts_at) > now,
            col(Appointment.status).in_([AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED]),
        )
        .order_by(col(Appointment.starts_at))
    ).first()


def _store(
    session: Session,
    sms: IncomingSms,
    *,
    clinic: Clinic | None,
    patient: Patient | None,
    language: str,
    kind: InboundKind,
    now: datetime,
    answer: int | None = None,
    priority: Priority = Priority.NORMAL,
    phrase: str | None = None,
) -> None:
    session.add(
        InboundMessage(
            provider_sid=sms.sid,
            clinic_id=clinic.id if clinic else None,
            patient_id=patient.id if patient else None,
            from_phone=sms.from_phone,
            to_phone=sms.to_phone,
            body=sms.body,
            language=language,
            kind=kind,
            answer=answer,
            priority=priority,
            matched_phrase=phrase,
            received_at=now,
        )
    )
    try:
        session.flush()
    except IntegrityError as exc:  # the same SID arrived twice at once; the first one wins
        raise DuplicateInbound(sms.sid) from exc


class DuplicateInbound(Exception):
    """A concurrent delivery of the same inbound SID."""


def _act(
    *,
    session: Session,
    kind: InboundKind,
    answer: int | None,
    clinic: Clinic,
    patient: Patient,
    now: datetime,
) -> str | None:
    values: dict[str, object] = {
        "clinic_name": clinic.name,
        "clinic_phone": clinic.phone,
        "program_name": clinic.program_name,
        "messages_per_month": MESSAGES_PER_MONTH,
        "emergency_number": clinic.emergency_number,
    }
    text: SystemText | None = None
    carrier_required = (InboundKind.OPTIN, InboundKind.HELP, InboundKind.OPTOUT)
    if patient.consent != ConsentStatus.GRANTED and kind not in carrier_required:
        return None  # no texts to a patient who opted out, except the answers carriers require
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
    elif kind == InboundKind.HELP:
        text = SystemText.HELP
    elif kind == InboundKind.URGENT:
        text = SystemText.URGENT_SAFETY
    elif kind == InboundKind.CONFIRM:
        appointment = _next_appointment(session=session, patient=patient, now=now)
        if appointment is None:
            return None
        appointment.status = AppointmentStatus.CONFIRMED
        session.add(appointment)
        values |= {"appointment_date": appointment.starts_at, "appointment_time": appointment.starts_at}
        text = SystemText.CONFIRM_ACK
    elif kind == InboundKind.CANCEL_REQUEST:
        text = SystemText.CANCEL_ACK  # a person changes the schedule: the request waits for the care team
    elif kind == InboundKind.CHECKIN_ANSWER:
        text = SystemText.CHECKIN_WORSE_ACK if answer == 3 else SystemText.CHECKIN_ACK
    if text is None:
        return None
    rendered = render_system(
        text, tag=patient.language, clinic_default=clinic.default_language, values=values, tz=patient.timezone
    )
    return rendered.body
