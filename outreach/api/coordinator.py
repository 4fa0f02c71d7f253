"""Care-coordinator routes: the reply queue, one clinic's threads only."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from outreach.api.deps import PrincipalDep, SessionDep, require_role
from outreach.clinics.models import Role
from outreach.db import utcnow
from outreach.inbox import coordinator, history
from outreach.inbox import coordinator_queue as queue
from outreach.inbox.models import ACTIVE, Priority, ThreadStatus
from outreach.inbox.schemas import (
    NoteIn,
    ProfileIn,
    ProfilePublic,
    ReplyIn,
    ReplyPublic,
    ResolveIn,
    ThreadDetail,
    ThreadPage,
    ThreadPublic,
)

router = APIRouter(prefix="/coordinator", tags=["coordinator"], dependencies=[require_role(Role.COORDINATOR)])


@router.get("/me", summary="My name and the languages I read")
def get_me(session: SessionDep, user: PrincipalDep) -> ProfilePublic:
    return queue.get_profile(session=session, clinic_id=user.clinic_id, key_id=user.key_id)


@router.put("/me", summary="Set my name and the languages I read")
def set_me(data: ProfileIn, session: SessionDep, user: PrincipalDep) -> ProfilePublic:
    return queue.set_profile(
        session=session, clinic_id=user.clinic_id, key_id=user.key_id, data=data, now=utcnow()
    )


@router.get("/threads", summary="The queue: most urgent first, then longest waiting")
def list_threads(
    session: SessionDep,
    user: PrincipalDep,
    status: Annotated[list[ThreadStatus] | None, Query(description="default: open and claimed")] = None,
    priority: Priority | None = None,
    language: Annotated[str | None, Query(max_length=35)] = None,
    campaign_id: uuid.UUID | None = None,
    mine: Annotated[bool, Query(description="only threads in languages I read")] = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> ThreadPage:
    filters = queue.Filters(
        status=tuple(status) if status else ACTIVE,
        priority=priority,
        language=language,
        campaign_id=campaign_id,
        mine=mine,
    )
    return queue.list_threads(
        session=session,
        clinic_id=user.clinic_id,
        key_id=user.key_id,
        filters=filters,
        limit=limit,
        cursor=cursor,
    )


@router.get("/threads/{thread_id}", summary="A thread with its messages (the view is audited)")
def get_thread(thread_id: uuid.UUID, session: SessionDep, user: PrincipalDep) -> ThreadDetail:
    return history.get_thread(
        session=session, clinic_id=user.clinic_id, thread_id=thread_id, key_id=user.key_id, now=utcnow()
    )


@router.post("/threads/{thread_id}/claim", summary="Claim a thread (409 names who holds it)")
def claim(thread_id: uuid.UUID, session: SessionDep, user: PrincipalDep) -> ThreadPublic:
    return coordinator.claim(
        session=session, clinic_id=user.clinic_id, thread_id=thread_id, key_id=user.key_id, now=utcnow()
    )


@router.post("/threads/{thread_id}/release", summary="Give a claimed thread back to the queue")
def release(thread_id: uuid.UUID, session: SessionDep, user: PrincipalDep) -> ThreadPublic:
    return coordinator.release(
        session=session, clinic_id=user.clinic_id, thread_id=thread_id, key_id=user.key_id, now=utcnow()
    )


@router.post(
    "/threads/{thread_id}/replies", status_code=201, summary="Text the patient (free text or a template)"
)
def reply(thread_id: uuid.UUID, data: ReplyIn, session: SessionDep, user: PrincipalDep) -> ReplyPublic:
    return coordinator.reply(
        session=session,
        clinic_id=user.clinic_id,
        thread_id=thread_id,
        key_id=user.key_id,
        data=data,
        now=utcnow(),
    )


@router.post("/threads/{thread_id}/notes", status_code=201, summary="Leave a note for the care team")
def add_note(thread_id: uuid.UUID, data: NoteIn, session: SessionDep, user: PrincipalDep) -> ThreadPublic:
    return coordinator.add_note(
        session=session,
        clinic_id=user.clinic_id,
        thread_id=thread_id,
        key_id=user.key_id,
        body=data.body,
        now=utcnow(),
    )


@router.post("/threads/{thread_id}/resolve", summary="Close a thread with an outcome")
def resolve(thread_id: uuid.UUID, data: ResolveIn, session: SessionDep, user: PrincipalDep) -> ThreadPublic:
    return coordinator.resolve(
        session=session,
        clinic_id=user.clinic_id,
        thread_id=thread_id,
        key_id=user.key_id,
        outcome=data.outcome,
        note=data.note,
        now=utcnow(),
    )
