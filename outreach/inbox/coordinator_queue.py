"""The coordinators' work queue (threads waiting for a person, not a message broker): who reads which
languages, and the ordered, paginated list of threads.

The list is ordered by priority, then by how long the thread has waited, then by id; pagination is by
keyset on that order, so the first page is one walk of an index and page 1000 costs what page 1 does.
A page is found on the ordering columns alone (an index-only walk; "my languages" one walk per language,
merged), and only its threads are then read with their patients and holders.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, bindparam, func, literal, literal_column, tuple_, union_all
from sqlalchemy import select as sql_select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnClause
from sqlmodel import Session, col

from outreach.clinics.models import ApiKey, Clinic
from outreach.db import UTCDateTime
from outreach.errors import Invalid
from outreach.i18n import negotiate
from outreach.inbox.models import ACTIVE, PRIORITY_RANK, CoordinatorProfile, Priority, Thread, ThreadStatus
from outreach.inbox.schemas import Holder, ProfileIn, ProfilePublic, ThreadPage, ThreadPublic
from outreach.patients.models import Patient

_ACTIVE_SQL: ColumnClause[bool] = literal_column(
    "inbox_thread.status IN ('open', 'claimed')"
)  # matches the partial index


@dataclass(frozen=True, slots=True)
class Filters:
    """What a coordinator asked the queue for."""

    status: tuple[ThreadStatus, ...] = ACTIVE
    priority: Priority | None = None
    language: str | None = None
    campaign_id: uuid.UUID | None = None
    mine: bool = False


def languages_of(*, session: Session, clinic_id: uuid.UUID, key_id: uuid.UUID) -> tuple[str, ...]:
    """The languages a coordinator reads: their profile's, else the clinic's default language."""
    profile = session.get(CoordinatorProfile, key_id)
    if profile is not None and profile.clinic_id == clinic_id:
        return tuple(filter(None, profile.languages.split(",")))
    clinic = session.get(Clinic, clinic_id)
    return (negotiate(clinic.default_language if clinic else "en").language,)


def get_profile(*, session: Session, clinic_id: uuid.UUID, key_id: uuid.UUID) -> ProfilePublic:
    """A coordinator's profile (their key's name and the clinic's language until they set one)."""
    profile = session.get(CoordinatorProfile, key_id)
    key = session.get(ApiKey, key_id)
    name = profile.display_name if profile else (key.name if key else "")
    languages = languages_of(session=session, clinic_id=clinic_id, key_id=key_id)
    return ProfilePublic(key_id=key_id, display_name=name, languages=list(languages))


def set_profile(
    *, session: Session, clinic_id: uuid.UUID, key_id: uuid.UUID, data: ProfileIn, now: datetime
) -> ProfilePublic:
    """Set a coordinator's name and languages; each tag must map to a supported language."""
    languages: list[str] = []
    for index, tag in enumerate(data.languages):
        chosen = negotiate(tag)
        if chosen.fell_back:
            raise Invalid(f"languages.{index}", f"'{tag}' is not a supported language")
        if chosen.language not in languages:
            languages.append(chosen.language)
    profile = session.get(CoordinatorProfile, key_id) or CoordinatorProfile(
        api_key_id=key_id, clinic_id=clinic_id, display_name=data.display_name
    )
    profile.display_name, profile.languages, profile.updated_at = data.display_name, ",".join(languages), now
    session.add(profile)
    session.flush()
    return ProfilePublic(key_id=key_id, display_name=profile.display_name, languages=languages)


def _encode(thread: Thread) -> str:
    raw = json.dumps([thread.priority_rank, thread.waiting_since.isoformat(), str(thread.id)])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[int, datetime, uuid.UUID]:
    try:
        rank, since, ident = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return int(rank), datetime.fromisoformat(since), uuid.UUID(ident)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise Invalid("cursor", "is not a cursor this API gave out") from exc


_ORDER = (col(Thread.priority_rank), col(Thread.waiting_since), col(Thread.id))
_THREAD_COLUMNS = tuple(Thread.__table__.columns)  # type: ignore[attr-defined]
_ID_TYPE = Thread.__table__.c.id.type  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class _Shape:
    """What decides a page's statement, without the values: pages of one shape share one statement."""

    status: tuple[ThreadStatus, ...]
    priority: bool
    language: bool
    campaign: bool
    languages: int | None  # "my languages": how many the coordinator reads
    after: bool
    size: int


def _params(
    filters: Filters,
    *,
    clinic_id: uuid.UUID,
    key_id: uuid.UUID,
    languages: tuple[str, ...],
    after: str | None,
) -> dict[str, Any]:
    """The values a page's statement is run with (the names `_statement` binds)."""
    values: dict[str, Any] = {"clinic_id": clinic_id, "key_id": key_id}
    if filters.priority is not None:
        values["priority_rank"] = PRIORITY_RANK[filters.priority]
    if filters.language is not None:
        values["language"] = negotiate(filters.language).language
    if filters.campaign_id is not None:
        values["campaign_id"] = filters.campaign_id
    values.update({f"language_{index}": language for index, language in enumerate(languages)})
    if after:
        values["after_rank"], values["after_since"], values["after_id"] = _decode(after)
    return values


def _matching(shape: _Shape) -> Any:
    """The threads that match the filters (their ordering columns), after the cursor's thread."""
    query = sql_select(*_ORDER).where(col(Thread.clinic_id) == bindparam("clinic_id"))
    if set(shape.status) <= set(ACTIVE):
        query = query.where(_ACTIVE_SQL)
    if set(shape.status) != set(ACTIVE):  # the same condition twice misleads the planner's estimates
        query = query.where(col(Thread.status).in_(shape.status))
    if shape.priority:
        query = query.where(col(Thread.priority_rank) == bindparam("priority_rank"))
    if shape.language:
        query = query.where(col(Thread.language) == bindparam("language"))
    if shape.campaign:
        query = query.where(col(Thread.campaign_id) == bindparam("campaign_id"))
    if shape.after:
        cursor = (
            bindparam("after_rank", type_=Integer()),
            bindparam("after_since", type_=UTCDateTime()),
            bindparam("after_id", type_=_ID_TYPE),
        )
        query = query.where(tuple_(*_ORDER) > tuple_(*cursor))
    return query


def _page(shape: _Shape) -> Any:
    """The page's threads in queue order (limit `size`), found on their ordering columns alone."""
    query = _matching(shape)
    if shape.languages is not None:
        # One ordered walk per language the coordinator reads, each as long as the page, then merged:
        # the page is among them, and no other thread in those languages is read or sorted.
        walks = [
            sql_select(
                query.where(col(Thread.language) == bindparam(f"language_{index}"))
                .order_by(*_ORDER)
                .limit(literal_column(str(shape.size)))
                .subquery()
            )
            for index in range(shape.languages)
        ]
        query = sql_select(union_all(*walks).subquery()) if walks else query.where(literal(False))
    # The page's selected columns are the ordering columns, in order. The limit is written into the SQL
    # (it is part of the shape): with it bound, PostgreSQL judged the prepared statement's generic plan
    # dearer and planned the page afresh on every poll (0.5 ms of its CPU each); with it written, the
    # generic plan, the same index walk, is kept after five runs.
    return query.order_by(*query.selected_columns).limit(literal_column(str(shape.size))).subquery()


@functools.lru_cache(maxsize=256)
def _statement(shape: _Shape) -> Any:
    """A page's statement, built once per shape: a coordinator polling the queue reruns the same one, so
    neither building the expression nor compiling it is paid again (PostgreSQL prepares it, too)."""
    page = _page(shape)
    holder_name = func.coalesce(CoordinatorProfile.display_name, ApiKey.name)
    viewer = aliased(CoordinatorProfile)
    # The thread's columns as plain rows, not ORM objects: a page is read, never changed (identity map
    # and instance state cost more than the query).
    return (
        sql_select(
            *_THREAD_COLUMNS,
            col(Patient.given_name),
            col(Patient.family_name),
            col(Patient.phone),
            holder_name,
            sql_select(col(viewer.languages))
            .where(
                col(viewer.api_key_id) == bindparam("key_id"), col(viewer.clinic_id) == bindparam("clinic_id")
            )
            .scalar_subquery(),
            sql_select(col(Clinic.default_language))
            .where(col(Clinic.id) == bindparam("clinic_id"))
            .scalar_subquery(),
        )
        .join(page, page.c.id == Thread.id)
        .outerjoin(Patient, col(Patient.id) == Thread.patient_id)
        .outerjoin(CoordinatorProfile, col(CoordinatorProfile.api_key_id) == Thread.claimed_by)
        .outerjoin(ApiKey, col(ApiKey.id) == Thread.claimed_by)
        .order_by(*_ORDER)
    )


def list_threads(
    *,
    session: Session,
    clinic_id: uuid.UUID,
    key_id: uuid.UUID,
    filters: Filters,
    limit: int,
    cursor: str | None,
) -> ThreadPage:
    """One page of the clinic's queue: most urgent first, then longest waiting.

    One round trip unless the coordinator asked for their languages: the languages that set the
    interpreter flag come back with the page.
    """
    known = languages_of(session=session, clinic_id=clinic_id, key_id=key_id) if filters.mine else None
    shape = _Shape(
        status=tuple(sorted(set(filters.status))),
        priority=filters.priority is not None,
        language=filters.language is not None,
        campaign=filters.campaign_id is not None,
        languages=len(known) if known is not None else None,
        after=bool(cursor),
        size=limit + 1,
    )
    values = _params(filters, clinic_id=clinic_id, key_id=key_id, languages=known or (), after=cursor)
    rows = session.connection().execute(_statement(shape), values).all()
    width = len(_THREAD_COLUMNS)
    languages = known if known is not None else _languages(rows[0][width + 4 :] if rows else (None, None))
    items = [
        to_public(row, languages=languages, patient=tuple(row[width : width + 3]), holder=row[width + 3])  # type: ignore[arg-type]
        for row in rows[:limit]
    ]
    more = len(rows) > limit
    return ThreadPage(items=items, next_cursor=_encode(rows[limit - 1]) if more else None)  # type: ignore[arg-type]


def _languages(found: Any) -> tuple[str, ...]:
    """`languages_of` from the page's own columns: the profile's languages, else the clinic's default."""
    profile, default = found
    if profile is not None:
        return tuple(filter(None, str(profile).split(",")))
    return (negotiate(default or "en").language,)


def to_public(
    thread: Thread,
    *,
    languages: tuple[str, ...],
    patient: tuple[str | None, str | None, str | None] | None,
    holder: str | None,
) -> ThreadPublic:
    """A thread as one coordinator sees it (the interpreter flag depends on who is looking)."""
    given, family, phone = patient or (None, None, None)
    name = " ".join(filter(None, (given, family))) or None if thread.patient_id else None
    first = thread.first_response_at
    return ThreadPublic(
        id=thread.id,
        patient_id=thread.patient_id,
        patient_name=name,
        phone=phone or thread.from_phone,
        language=thread.language,
        interpreter_needed=thread.language != "und" and thread.language not in languages,
        status=thread.status,
        priority=thread.priority,
        kind=thread.kind,
        campaign_id=thread.campaign_id,
        awaiting_reply=thread.awaiting_reply,
        waiting_since=thread.waiting_since,
        opened_at=thread.opened_at,
        last_message_at=thread.last_message_at,
        claimed_by=Holder(key_id=thread.claimed_by, name=holder or "") if thread.claimed_by else None,
        first_response_seconds=(first - thread.opened_at).total_seconds() if first else None,
        resolution_seconds=(
            (thread.resolved_at - thread.opened_at).total_seconds() if thread.resolved_at else None
        ),
        outcome=thread.outcome,
    )
