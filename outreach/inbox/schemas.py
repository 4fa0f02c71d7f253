"""What the coordinator API accepts and returns."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from outreach.i18n import TemplateKey
from outreach.inbox.models import InboundKind, Outcome, Priority, ThreadStatus
from outreach.sms.base import MAX_BODY_CHARS

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class ProfileIn(BaseModel):
    """A coordinator's name as colleagues see it, and the languages they read."""

    model_config = ConfigDict(extra="forbid")

    display_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
    languages: list[Annotated[str, StringConstraints(min_length=2, max_length=35)]] = Field(max_length=20)


class ProfilePublic(BaseModel):
    """A coordinator's profile; `languages` are the supported languages their tags map to."""

    key_id: uuid.UUID
    display_name: str
    languages: list[str]


class Holder(BaseModel):
    """The coordinator working a thread."""

    key_id: uuid.UUID
    name: str


class ThreadPublic(BaseModel):
    """A thread as the queue shows it; times in UTC, durations in seconds."""

    id: uuid.UUID
    patient_id: uuid.UUID | None
    patient_name: str | None
    phone: str
    language: str
    interpreter_needed: bool
    status: ThreadStatus
    priority: Priority
    kind: InboundKind
    campaign_id: uuid.UUID | None
    awaiting_reply: bool
    waiting_since: datetime
    opened_at: datetime
    last_message_at: datetime
    claimed_by: Holder | None
    first_response_seconds: float | None
    resolution_seconds: float | None
    outcome: Outcome | None


class ThreadPage(BaseModel):
    """One page of the queue; pass `next_cursor` back as `cursor` for the next one."""

    items: list[ThreadPublic]
    next_cursor: str | None


# call_task: a journey's check-ins went unanswered; journey_ended: a coordinator ended its check-ins.
EntryKind = Literal[
    "inbound", "reply", "note", "claim", "release", "resolve", "reopen", "call_task", "journey_ended"
]


class Entry(BaseModel):
    """One line of a thread's history: a patient's text, a reply, a note or what someone did."""

    at: datetime
    kind: EntryKind
    body: str | None
    by: str | None
    meaning: InboundKind | None = None
    priority: Priority | None = None
    delivery_status: str | None = None
    outcome: Outcome | None = None


class ThreadDetail(ThreadPublic):
    """A thread with its history, oldest first."""

    entries: list[Entry]


class ReplyIn(BaseModel):
    """Free text, or a canned reply from the template library rendered in the patient's language."""

    model_config = ConfigDict(extra="forbid")

    body: Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_BODY_CHARS)] | None = None
    template: TemplateKey | None = None

    @model_validator(mode="after")
    def _one_of(self) -> ReplyIn:
        if self.template is None and not self.body:
            raise ValueError("give a non-empty body or a template")
        if self.template is not None and self.body:
            raise ValueError("give a body or a template, not both")
        return self


class ReplyPublic(BaseModel):
    """A reply scheduled through the delivery pipeline."""

    message_id: uuid.UUID
    body: str
    language: str
    status: str


class NoteIn(BaseModel):
    """A note for the care team; the patient never sees it."""

    model_config = ConfigDict(extra="forbid")

    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class ResolveIn(BaseModel):
    """How the thread ended, and an optional note."""

    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None
