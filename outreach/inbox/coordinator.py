"""The coordinator service: what a coordinator does to a thread (read it, claim, release, reply, note,
resolve), each audited. Domain functions: they take a session and flush; the request commits.

A claim is one conditional UPDATE, so two coordinators pressing "claim" at once cannot both win: the
database decides, and the loser is told who holds the thread.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from outreach.clinics.models import ApiKey, Clinic
from outreach.errors import Conflict, Invalid, NotFound
from outreach.i18n import MissingPlaceholder, render_template
from outreach.inbox.coordinator_queue import languages_of, to_public
from outreach.inbox.models import CoordinatorProfile, InboxAudit, Outcome, Thread, ThreadEvent, ThreadStatus
from outreach.inbox.schemas import ReplyIn, ReplyPublic, ThreadPublic
from outreach.inbox.triage import next_appointment
from outreach.messaging.service import create_one_off
from outreach.patients.models import Patient
from outreach.tenancy import owned


def holder_name(*, session: Session, key_id: uuid.UUID) -> str:
    """How colleagues know a coordinator: their profile's name, else their key's name."""
    profile = session.get(CoordinatorProfile, key_id)
    if profile is not None:
        return profile.display_name
    key = session.get(ApiKey, key_id)
    return key.name if key and key.name else f"key {key_id}"


def audit(*, session: Session, thread: Thread, key_id: uuid.UUID, action: str, now: datetime) -> None:
    """Record that a coordinator viewed, answered or closed a thread."""
    session.add(
        InboxAudit(clinic_id=thread.clinic_id, thread_id=thread.id, key_id=key_id, action=action, at=now)
    )


def load(*, session: Session, clinic_id: uuid.UUID, thread_id: uuid.UUID, lock: bool = False) -> Thread:
    """The clinic's thread (locked for this transaction when asked); another clinic's is not found."""
    query = owned(select(Thread), Thread, clinic_id=clinic_id).where(Thread.id == thread_id)
    if lock and session.get_bind().dialect.name == "sqlite":
        # SQLite has no row locks and starts a transaction only at its first write: this no-op write
        # takes the database's write lock now, so what follows is ordered against a concurrent STOP.
        session.execute(
            update(Thread)
            .where(col(Thread.id) == thread_id)
            .values(id=Thread.id)
            .execution_options(synchronize_session=False)
        )
    elif lock:
        query = query.with_for_update()
    thread = session.exec(query.execution_options(populate_existing=True)).first()
    if thread is None:
        raise NotFound("thread")
    return thread


def view(*, session: Session, thread: Thread, key_id: uuid.UUID) -> ThreadPublic:
    """A thread as this coordinator sees it."""
    patient = session.get(Patient, thread.patient_id) if thread.patient_id else None
    person = (patient.given_name, patient.family_name, patient.phone) if patient else None
    holder = holder_name(session=session, key_id=thread.claimed_by) if thread.claimed_by else None
    languages = languages_of(session=session, clinic_id=thread.clinic_id, key_id=key_id)
    return to_public(thread, languages=languages, patient=person, holder=holder)


def _event(
    session: Session,
    thread: Thread,
    kind: str,
    key_id: uuid.UUID,
    now: datetime,
    *,
    body: str | None = None,
    outbound_message_id: uuid.UUID | None = None,
    outcome: Outcome | None = None,
) -> None:
    event = ThreadEvent(
        clinic_id=thread.clinic_id,
        thread_id=thread.id,
        kind=kind,
        key_id=key_id,
        at=now,
        body=body,
        outbound_message_id=outbound_message_id,
        outcome=outcome,
    )
    session.add(event)


def _refuse_if_held(session: Session, thread: Thread, key_id: uuid.UUID) -> None:
    if thread.status == ThreadStatus.RESOLVED:
        raise Conflict("the thread is resolved; it reopens when the patient writes again")
    if thread.claimed_by is not None and thread.claimed_by != key_id:
        raise Conflict(f"{holder_name(session=session, key_id=thread.claimed_by)} holds this thread")


def claim(
    *, session: Session, clinic_id: uuid.UUID, thread_id: uuid.UUID, key_id: uuid.UUID, now: datetime
) -> ThreadPublic:
    """Take a thread so colleagues do not answer it too; 409 naming the holder when someone has it."""
    taken = session.execute(
        update(Thread)
        .where(
            col(Thread.id) == thread_id,
            col(Thread.clinic_id) == clinic_id,
            col(Thread.status) != ThreadStatus.RESOLVED,
            or_(col(Thread.claimed_by).is_(None), col(Thread.claimed_by) == key_id),
        )
        .values(status=ThreadStatus.CLAIMED, claimed_by=key_id, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    thread = load(session=session, clinic_id=clinic_id, thread_id=thread_id)
    if taken.rowcount == 0:  # type: ignore[attr-defined]
        _refuse_if_held(session, thread, key_id)
    _event(session, thread, "claim", key_id, now)
    return view(session=session, thread=thread, key_id=key_id)


def release(
    *, session: Session, clinic_id: uuid.UUID, thread_id: uuid.UUID, key_id: uuid.UUID, now: datetime
) -> ThreadPublic:
    """Give a claimed thread back to the queue; only its holder can."""
    thread = load(session=session, clinic_id=clinic_id, thread_id=thread_id, lock=True)
    _refuse_if_held(session, thread, key_id)
    if thread.claimed_by is None:
        raise Conflict("nobody holds this thread")
    thread.status, thread.claimed_by, thread.claimed_at = ThreadStatus.OPEN, None, None
    session.add(thread)
    _event(session, thread, "release", key_id, now)
    return view(session=session, thread=thread, key_id=key_id)


def canned(
    *, session: Session, template: str, clinic: Clinic, patient: Patient, now: datetime
) -> tuple[str, str]:
    visit = next_appointment(session=session, patient=patient, now=now)
    values: dict[str, object] = {
        "clinic_name": clinic.name,
        "clinic_phone": clinic.phone,
        "first_name": patient.given_name,
        "emergency_number": clinic.emergency_number,
    }
    if visit is not None:
        values |= {
            "appointment_date": visit.starts_at,
            "appointment_time": visit.starts_at,
            "appointment_location": visit.location,
        }
    try:
        rendered = render_template(
            template,
            tag=patient.language,
            clinic_default=clinic.default_language,
            values=values,
            tz=patient.timezone,
        )
    except MissingPlaceholder as exc:
        raise Invalid("template", f"needs {exc.placeholder}, which this patient does not have") from exc
    return rendered.body, rendered.language


def reply(
    *,
    session: Session,
    clinic_id: uuid.UUID,
    thread_id: uuid.UUID,
    key_id: uuid.UUID,
    data: ReplyIn,
    now: datetime,
) -> ReplyPublic:
    """Send the patient a text through the delivery pipeline; refused if they opted out."""
    thread = load(session=session, clinic_id=clinic_id, thread_id=thread_id, lock=True)
    _refuse_if_held(session, thread, key_id)
    if thread.patient_id is None:
        raise Conflict("no patient has this number; call them or match the number to a patient first")
    # Locking the patient row orders this reply against a concurrent STOP: whichever commits second sees
    # the other, so a reply is either refused here or cancelled by the opt-out.
    patient = session.exec(
        select(Patient)
        .where(Patient.id == thread.patient_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    clinic = session.get(Clinic, clinic_id)
    assert clinic is not None  # the thread's clinic exists (foreign key)
    body, language = data.body or "", thread.language
    if data.template is not None:
        body, language = canned(
            session=session, template=data.template, clinic=clinic, patient=patient, now=now
        )
    message = create_one_off(
        session=session,
        clinic_id=clinic_id,
        patient_id=patient.id,
        body=body,
        send_at=None,
        language=language,
        now=now,
        kind="reply",
    )
    if thread.claimed_by is None:  # answering a thread is working it
        thread.status, thread.claimed_by, thread.claimed_at = ThreadStatus.CLAIMED, key_id, now
    thread.first_response_at = thread.first_response_at or now
    thread.awaiting_reply, thread.waiting_since = False, now
    session.add(thread)
    _event(session, thread, "reply", key_id, now, outbound_message_id=message.id)
    audit(session=session, thread=thread, key_id=key_id, action="reply", now=now)
    return ReplyPublic(
        message_id=message.id, body=message.body, language=message.language, status=message.status
    )


def add_note(
    *,
    session: Session,
    clinic_id: uuid.UUID,
    thread_id: uuid.UUID,
    key_id: uuid.UUID,
    body: str,
    now: datetime,
) -> ThreadPublic:
    """Leave a note for the care team on a thread."""
    thread = load(session=session, clinic_id=clinic_id, thread_id=thread_id)
    _event(session, thread, "note", key_id, now, body=body)
    audit(session=session, thread=thread, key_id=key_id, action="note", now=now)
    return view(session=session, thread=thread, key_id=key_id)


def resolve(
    *,
    session: Session,
    clinic_id: uuid.UUID,
    thread_id: uuid.UUID,
    key_id: uuid.UUID,
    outcome: Outcome,
    note: str | None,
    now: datetime,
) -> ThreadPublic:
    """Close a thread with an outcome; the patient's next text reopens it."""
    thread = load(session=session, clinic_id=clinic_id, thread_id=thread_id, lock=True)
    _refuse_if_held(session, thread, key_id)
    thread.status, thread.resolved_at, thread.outcome = ThreadStatus.RESOLVED, now, outcome
    thread.claimed_by, thread.claimed_at, thread.awaiting_reply = None, None, False
    session.add(thread)
    _event(session, thread, "resolve", key_id, now, outcome=outcome, body=note or None)
    audit(session=session, thread=thread, key_id=key_id, action="resolve", now=now)
    return view(session=session, thread=thread, key_id=key_id)
