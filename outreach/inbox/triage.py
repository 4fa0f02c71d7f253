"""What an inbound text means, and how soon a person must read it.

Red-flag phrases (chest pain, can't breathe, suicide or self-harm, severe bleeding, stroke signs,
seizure, overdose, throat swelling...) live per language in `locales/<lang>/keywords.toml` under
`urgent`; English phrases are checked for every patient on top of their own language's list. A match
anywhere in the message makes the thread urgent and sends the urgent-safety reply (call the clinic's
emergency number) at once.

Limits, on purpose and to tell clinics plainly:
- Matching is by phrase after folding case, width, Latin accents and Arabic-script spellings. It does
  not understand negation ("no chest pain" is still flagged: a false alarm costs a look, a miss costs
  more), misspellings beyond those folds, slang, or a message split over several texts.
- Lists cover common phrasings only and have not been reviewed by native-speaking clinicians for every
  language; a message without a listed phrase is ordinary priority however worrying it is.
- Texts are not an emergency channel: the automatic reply says so, and the queue is not watched 24/7.
- Opt-out, opt-in and HELP words win over red flags, because carriers require those answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from outreach.i18n import find_urgent, match_keyword
from outreach.inbox.models import InboundKind, Priority
from outreach.patients.models import Appointment, AppointmentStatus, Patient

# Kinds a person should see in the queue; the others are fully handled by the webhook itself.
QUEUED_KINDS = frozenset(
    {InboundKind.MESSAGE, InboundKind.URGENT, InboundKind.CANCEL_REQUEST, InboundKind.UNMATCHED}
)


@dataclass(frozen=True, slots=True)
class Triage:
    """The meaning of one text: its kind, the answer digit, its priority and any red-flag phrase."""

    kind: InboundKind
    answer: int | None = None
    priority: Priority = Priority.NORMAL
    phrase: str | None = None

    @property
    def queued(self) -> bool:
        """Whether a coordinator should see it (check-in answer 3 = "worse" is raised to the queue)."""
        return self.kind in QUEUED_KINDS or (self.kind == InboundKind.CHECKIN_ANSWER and self.answer == 3)


def classify(*, body: str, language: str, has_visit: bool) -> Triage:
    """What a matched patient's text means, in their language (English keywords work for everyone).

    A bare 1 or 2 answers the reminder of the patient's next visit when they have one (`has_visit`),
    and a check-in otherwise.
    """
    matched = match_keyword(body, language=language)
    if matched is not None and matched.kind in ("optout", "optin", "help"):
        return Triage(InboundKind(matched.kind))
    urgent = find_urgent(body, language=language)
    if urgent is not None:
        return Triage(InboundKind.URGENT, priority=Priority.URGENT, phrase=urgent)
    if matched is None:
        return Triage(InboundKind.MESSAGE)
    value = matched.value
    about_visit = matched.kind == "answer" and value in (1, 2) and has_visit
    if matched.kind == "confirm" or (value == 1 and about_visit):
        return Triage(InboundKind.CONFIRM, 1)
    if matched.kind == "cancel" or (value == 2 and about_visit):
        return Triage(InboundKind.CANCEL_REQUEST, 2, Priority.HIGH)
    priority = Priority.HIGH if value == 3 else Priority.NORMAL  # 3 means "worse" on every check-in
    return Triage(InboundKind.CHECKIN_ANSWER, value, priority)


def next_appointment(*, session: Session, patient: Patient, now: datetime) -> Appointment | None:
    """The patient's next booked or confirmed visit, which a 1 or 2 after a reminder is about."""
    return session.exec(
        select(Appointment)
        .where(
            Appointment.patient_id == patient.id,
            col(Appointment.starts_at) > now,
            col(Appointment.status).in_([AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED]),
        )
        .order_by(col(Appointment.starts_at))
    ).first()
