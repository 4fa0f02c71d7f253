"""A thread with its history: the patient's texts, the team's replies and notes, and what was done."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import cast

from sqlmodel import Session, col, select

from outreach.clinics.models import ApiKey
from outreach.inbox.coordinator import audit, load, view
from outreach.inbox.models import CoordinatorProfile, InboundMessage, ThreadEvent
from outreach.inbox.schemas import Entry, EntryKind, ThreadDetail
from outreach.messaging.models import OutboundMessage

MAX_ENTRIES = 500  # the newest ones; a thread is one per patient, so a long history is cut, oldest first


def get_thread(
    *, session: Session, clinic_id: uuid.UUID, thread_id: uuid.UUID, key_id: uuid.UUID, now: datetime
) -> ThreadDetail:
    """A thread with its newest history, oldest first; the view is audited."""
    thread = load(session=session, clinic_id=clinic_id, thread_id=thread_id)
    audit(session=session, thread=thread, key_id=key_id, action="view", now=now)
    inbound = session.exec(
        select(InboundMessage)
        .where(InboundMessage.thread_id == thread.id)
        .order_by(col(InboundMessage.received_at).desc())
        .limit(MAX_ENTRIES)
    ).all()
    entries = [
        Entry(at=m.received_at, kind="inbound", body=m.body, by=None, meaning=m.kind, priority=m.priority)
        for m in inbound
    ]
    entries += _team_entries(session=session, thread_id=thread.id)
    entries.sort(key=lambda e: e.at)
    public = view(session=session, thread=thread, key_id=key_id)
    return ThreadDetail(**public.model_dump(), entries=entries[-MAX_ENTRIES:])


def _team_entries(*, session: Session, thread_id: uuid.UUID) -> list[Entry]:
    rows = session.exec(
        select(ThreadEvent, CoordinatorProfile.display_name, ApiKey.name, OutboundMessage)
        .outerjoin(CoordinatorProfile, col(CoordinatorProfile.api_key_id) == ThreadEvent.key_id)
        .outerjoin(ApiKey, col(ApiKey.id) == ThreadEvent.key_id)
        .outerjoin(OutboundMessage, col(OutboundMessage.id) == ThreadEvent.outbound_message_id)
        .where(ThreadEvent.thread_id == thread_id)
        .order_by(col(ThreadEvent.at).desc())
        .limit(MAX_ENTRIES)
    ).all()
    entries: list[Entry] = []
    for event, display_name, key_name, sent in rows:
        entries.append(
            Entry(
                at=event.at,
                kind=cast(EntryKind, event.kind),  # written only by this package
                body=sent.body if sent is not None else event.body,
                by=display_name or key_name if event.key_id else None,
                delivery_status=sent.status if sent is not None else None,
                outcome=event.outcome,
            )
        )
    return entries
