"""Finding, opening and reopening the thread an inbound text belongs to."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from outreach.inbox.models import PRIORITY_RANK, Thread, ThreadEvent, ThreadStatus
from outreach.inbox.triage import Triage
from outreach.patients.models import Patient


def party(*, patient: Patient | None, phone: str) -> str:
    """Who a thread is with: the patient, or the number when no patient has it."""
    return f"p:{patient.id}" if patient else f"n:{phone}"


def thread_for(
    *,
    session: Session,
    clinic_id: uuid.UUID,
    patient: Patient | None,
    phone: str,
    create: bool,
    language: str,
    triage: Triage,
    now: datetime,
) -> Thread | None:
    """The sender's thread, locked for this transaction; opened when `create` and there is none yet."""
    who = party(patient=patient, phone=phone)
    query = select(Thread).where(Thread.clinic_id == clinic_id, Thread.party == who).with_for_update()
    thread = session.exec(query).first()
    if thread is not None or not create:
        return thread
    thread = Thread(
        clinic_id=clinic_id,
        patient_id=patient.id if patient else None,
        party=who,
        from_phone=phone,
        language=language,
        kind=triage.kind,
        priority=triage.priority,
        priority_rank=PRIORITY_RANK[triage.priority],
        waiting_since=now,
        opened_at=now,
        last_message_at=now,
    )
    try:
        with session.begin_nested():  # two first texts at once: the second joins the first's thread
            session.add(thread)
    except IntegrityError:
        return session.exec(query).one()
    return thread


def attach(
    *,
    session: Session,
    thread: Thread,
    triage: Triage,
    language: str,
    now: datetime,
    campaign_id: uuid.UUID | None,
) -> None:
    """Put a text a person should read on its thread: reopen it, raise its priority, start its wait."""
    if thread.status == ThreadStatus.RESOLVED:
        _reopen(session=session, thread=thread, triage=triage, now=now)
    rank = PRIORITY_RANK[triage.priority]
    if rank < thread.priority_rank:
        thread.priority, thread.priority_rank = triage.priority, rank
    if not thread.awaiting_reply:
        thread.awaiting_reply, thread.waiting_since = True, now
    thread.language = language
    thread.last_message_at = now
    thread.campaign_id = campaign_id or thread.campaign_id
    session.add(thread)


def _reopen(*, session: Session, thread: Thread, triage: Triage, now: datetime) -> None:
    # Each reopening is a new episode: its response and resolution times start from this message.
    thread.status = ThreadStatus.OPEN
    thread.kind = triage.kind
    thread.priority, thread.priority_rank = triage.priority, PRIORITY_RANK[triage.priority]
    thread.awaiting_reply, thread.waiting_since = True, now
    thread.opened_at, thread.first_response_at, thread.resolved_at = now, None, None
    thread.outcome, thread.claimed_by, thread.claimed_at = None, None, None
    session.add(ThreadEvent(clinic_id=thread.clinic_id, thread_id=thread.id, kind="reopen", at=now))
