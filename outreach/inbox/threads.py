"""Putting an inbound text on its sender's thread: opened, reopened or raised in one atomic statement.

A thread is found by (clinic, party): one per patient, or per number no patient has. The upsert below
does what a person would: a first text opens the thread; a text on a resolved thread reopens it as a new
episode (its wait, response and resolution times start again, the claim is dropped); a text on an open
thread raises its priority if it is more pressing, never lowers it, and starts its wait if the team had
answered. The decision is made by the database on the row as it is when the statement runs, so two texts
from the same person at once cannot lose each other's changes, and no lock is held across round trips.
The same statements run on PostgreSQL and on SQLite (both have `INSERT … ON CONFLICT … DO UPDATE`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import (
    Table,
    Text,
    Uuid,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal,
    not_,
    null,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from outreach.db import UTCDateTime, time_ordered_id
from outreach.inbox.inbound_plan import ThreadTouch
from outreach.inbox.models import PRIORITY_RANK, Thread, ThreadEvent, ThreadStatus
from outreach.security.crypto import active

_thread: Table = Thread.__table__  # type: ignore[attr-defined]  # SQLModel sets it on table models
_event: Table = ThreadEvent.__table__  # type: ignore[attr-defined]
_NOW = bindparam("now", type_=UTCDateTime())


def party(*, patient_id: uuid.UUID | None, phone: str) -> str:
    """Who a thread is with: the patient, or the number (by its blind index) when no patient has it."""
    return f"p:{patient_id}" if patient_id else f"n:{active().index(phone)}"


def _upsert(dialect_insert: Any) -> Insert:
    stmt: Any = dialect_insert(_thread).values(
        id=bindparam("t_id", type_=Uuid()),
        clinic_id=bindparam("t_clinic", type_=Uuid()),
        patient_id=bindparam("t_patient", type_=Uuid()),
        party=bindparam("t_party"),
        from_phone_encrypted=bindparam("t_phone", type_=Text),  # encrypted by `thread_params`
        language=bindparam("t_language"),
        kind=bindparam("t_kind"),
        status=literal(ThreadStatus.OPEN.value),
        priority=bindparam("t_priority"),
        priority_rank=bindparam("t_rank"),
        campaign_id=bindparam("t_campaign", type_=Uuid()),
        awaiting_reply=true(),
        waiting_since=_NOW,
        opened_at=_NOW,
        last_message_at=_NOW,
    )
    new, old = stmt.excluded, _thread.c
    resolved = old.status == ThreadStatus.RESOLVED.value
    pressing = or_(resolved, new.priority_rank < old.priority_rank)
    started = or_(resolved, not_(old.awaiting_reply))

    def on_reopen(value: Any, otherwise: Any) -> Any:
        return case((resolved, value), else_=otherwise)

    upsert: Insert = stmt.on_conflict_do_update(
        index_elements=[old.clinic_id, old.party],
        set_={
            "status": on_reopen(literal(ThreadStatus.OPEN.value), old.status),
            "kind": on_reopen(new.kind, old.kind),
            "priority": case((pressing, new.priority), else_=old.priority),
            "priority_rank": case((pressing, new.priority_rank), else_=old.priority_rank),
            "awaiting_reply": true(),
            "waiting_since": case((started, new.waiting_since), else_=old.waiting_since),
            "opened_at": on_reopen(new.opened_at, old.opened_at),
            "first_response_at": on_reopen(null(), old.first_response_at),
            "resolved_at": on_reopen(null(), old.resolved_at),
            "outcome": on_reopen(null(), old.outcome),
            "claimed_by": on_reopen(null(), old.claimed_by),
            "claimed_at": on_reopen(null(), old.claimed_at),
            "language": new.language,
            "last_message_at": new.last_message_at,
            "campaign_id": func.coalesce(new.campaign_id, old.campaign_id),
        },
    )
    return upsert


# Built once per dialect; the statement is the same, only the ON CONFLICT spelling differs.
UPSERT: Mapping[str, Insert] = {"postgresql": _upsert(postgresql.insert), "sqlite": _upsert(sqlite.insert)}

# A reopening is recorded as an event on the thread: the upsert set its `opened_at` to this text's time
# on a thread that already existed (a new thread has the id this text proposed).
REOPENED = insert(_event).from_select(
    ["id", "clinic_id", "thread_id", "kind", "key_id", "at"],
    select(
        bindparam("e_id", type_=Uuid()),
        _thread.c.clinic_id,
        _thread.c.id,
        literal("reopen"),
        null(),
        _NOW,
    ).where(
        _thread.c.clinic_id == bindparam("t_clinic", type_=Uuid()),
        _thread.c.party == bindparam("t_party"),
        _thread.c.opened_at == _NOW,
        _thread.c.id != bindparam("t_id", type_=Uuid()),
    ),
)

# The sender's thread, if any, for texts that do not go to the queue themselves (keywords, answers).
# Locked (FOR KEY SHARE on PostgreSQL) before the text's row checks its patient's foreign key, so every
# transaction here takes the thread before the patient, as a coordinator's reply does: a STOP racing a
# reply waits for it (and then cancels its text) instead of deadlocking with it.
THREAD_ID = (
    select(_thread.c.id)
    .where(
        _thread.c.clinic_id == bindparam("t_clinic", type_=Uuid()),
        _thread.c.party == bindparam("t_party"),
    )
    .with_for_update(read=True, key_share=True)
    .scalar_subquery()
)


# While index keys rotate (OUTREACH_PHI_INDEX_KEYS holds a newer key before the previous one), a number no
# patient has may still have its thread keyed by the previous key's index: the thread takes the newest
# key's before the text is filed, so the stranger's next text lands on it instead of opening a second one
# (`outreach keys rotate` renames the rest the same way). Nothing happens when the newest key's thread
# already exists.
_newer = _thread.alias("newer")
ADOPT = (
    update(_thread)
    .where(
        _thread.c.clinic_id == bindparam("t_clinic", type_=Uuid()),
        _thread.c.party == bindparam("t_party_before"),
        ~exists().where(
            _newer.c.clinic_id == bindparam("t_clinic", type_=Uuid()), _newer.c.party == bindparam("t_party")
        ),
    )
    .values(party=bindparam("t_party"))
)


def adopt_params(
    *, clinic_id: uuid.UUID | None, patient_id: uuid.UUID | None, phone: str
) -> dict[str, Any] | None:
    """`ADOPT`'s parameters for a text from a number no patient has while index keys rotate, else None."""
    if patient_id is not None or clinic_id is None:
        return None
    newest, before = active().lookups(phone)
    if newest == before:
        return None
    return {"t_clinic": clinic_id, "t_party": f"n:{newest}", "t_party_before": f"n:{before}"}


def thread_key_params(
    *, clinic_id: uuid.UUID | None, patient_id: uuid.UUID | None, phone: str
) -> dict[str, Any]:
    """`THREAD_ID`'s parameters: the thread of this sender at this clinic."""
    return {"t_clinic": clinic_id, "t_party": party(patient_id=patient_id, phone=phone)}


def thread_params(touch: ThreadTouch, *, sealed_phone: str | None = None) -> dict[str, Any]:
    """`UPSERT`'s and `REOPENED`'s parameters for a text a person should read (`sealed_phone`: the number
    already encrypted for the text's own row, so a text costs one encryption)."""
    return {
        "t_id": uuid.uuid4(),
        "t_patient": touch.patient_id,
        "t_phone": sealed_phone or active().encrypt(touch.phone),
        "t_language": touch.language,
        "t_kind": touch.triage.kind.value,
        "t_priority": touch.triage.priority.value,
        "t_rank": PRIORITY_RANK[touch.triage.priority],
        "t_campaign": touch.campaign_id,
        "now": touch.at,
        "e_id": time_ordered_id(),
        **thread_key_params(clinic_id=touch.clinic_id, patient_id=touch.patient_id, phone=touch.phone),
    }
