"""What patients text back, the threads coordinators work, and who looked at what."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, String, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from outreach.db import UTCDateTime, new_id, time_ordered_id, utcnow
from outreach.security.crypto import EncryptedText


class InboundKind(StrEnum):
    """What a reply turned out to be."""

    OPTOUT = "optout"
    OPTIN = "optin"
    HELP = "help"
    CONFIRM = "confirm"
    CANCEL_REQUEST = "cancel_request"
    CHECKIN_ANSWER = "checkin_answer"
    URGENT = "urgent"
    MESSAGE = "message"
    UNMATCHED = "unmatched"
    NO_REPLY = "no_reply"  # not a text: a journey's check-ins went unanswered, a call task for the team


class Priority(StrEnum):
    """How soon a person should read it."""

    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


# Threads sort by this number (smallest first), so the queue's first page is one index walk.
PRIORITY_RANK: dict[Priority, int] = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2}


class ThreadStatus(StrEnum):
    """Where a thread is in the queue."""

    OPEN = "open"
    CLAIMED = "claimed"
    RESOLVED = "resolved"


ACTIVE = (ThreadStatus.OPEN, ThreadStatus.CLAIMED)


class Outcome(StrEnum):
    """How a coordinator closed a thread."""

    ANSWERED = "answered"
    RESCHEDULED = "rescheduled"
    APPOINTMENT_CANCELLED = "appointment_cancelled"
    CALLED_PATIENT = "called_patient"
    REFERRED = "referred"
    WRONG_NUMBER = "wrong_number"
    NO_ACTION_NEEDED = "no_action_needed"


class InboundMessage(SQLModel, table=True):
    """One text a patient (or an unknown number) sent to a clinic number."""

    __tablename__ = "inbound_message"
    __table_args__ = (
        Index("ix_inbound_message_clinic_received", "clinic_id", "received_at"),
        Index("ix_inbound_message_thread_received", "thread_id", "received_at"),
    )

    id: uuid.UUID = Field(default_factory=time_ordered_id, primary_key=True)
    provider_sid: str = Field(max_length=64, unique=True)
    clinic_id: uuid.UUID | None = Field(default=None, foreign_key="clinic.id")
    patient_id: uuid.UUID | None = Field(default=None, foreign_key="patient.id", index=True)
    # Encrypted (column `from_phone_encrypted`); found through its patient or thread, never by number.
    from_phone: str = Field(sa_column=Column("from_phone_encrypted", EncryptedText(), nullable=False))
    to_phone: str = Field(max_length=32)  # the clinic's own number
    body: str = Field(sa_column=Column(Text(), nullable=False))
    language: str = Field(max_length=35)
    kind: InboundKind = Field(sa_type=String(16))
    answer: int | None = Field(default=None)
    priority: Priority = Field(default=Priority.NORMAL, sa_type=String(8))
    matched_phrase: str | None = Field(default=None, max_length=120)
    received_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    thread_id: uuid.UUID | None = Field(default=None, foreign_key="inbox_thread.id")
    # The text this one answers: the newest one we had sent the patient when it arrived.
    in_reply_to_id: uuid.UUID | None = Field(default=None, foreign_key="outbound_message.id")
    # What outreach answered by itself (opt-out confirmation, help, the emergency reply), if anything.
    reply_body: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))


class Thread(SQLModel, table=True):
    """One conversation in the queue: a patient's (or an unknown number's) messages and the team's answers."""

    __tablename__ = "inbox_thread"
    __table_args__ = (
        # One thread per patient or unknown number: a new message reopens it rather than starting another.
        UniqueConstraint("clinic_id", "party", name="uq_inbox_thread_clinic_party"),
        Index("ix_inbox_thread_queue", "clinic_id", "status", "priority_rank", "waiting_since", "id"),
        Index(
            "ix_inbox_thread_active_queue",
            "clinic_id",
            "priority_rank",
            "waiting_since",
            "id",
            postgresql_where=text("status IN ('open', 'claimed')"),
            sqlite_where=text("status IN ('open', 'claimed')"),
        ),
        # The queue filtered to one language or a coordinator's languages: the matching active threads
        # straight from the index, not every active thread's row read to check its language.
        Index(
            "ix_inbox_thread_active_language",
            "clinic_id",
            "language",
            "priority_rank",
            "waiting_since",
            "id",
            postgresql_where=text("status IN ('open', 'claimed')"),
            sqlite_where=text("status IN ('open', 'claimed')"),
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    clinic_id: uuid.UUID = Field(foreign_key="clinic.id")
    patient_id: uuid.UUID | None = Field(default=None, foreign_key="patient.id", index=True)
    # "p:<patient id>", or "n:<blind index of the number>" for a number no patient has (inbox/threads.py)
    party: str = Field(max_length=48)
    from_phone: str = Field(sa_column=Column("from_phone_encrypted", EncryptedText(), nullable=False))
    language: str = Field(max_length=35)
    kind: InboundKind = Field(sa_type=String(16))
    status: ThreadStatus = Field(default=ThreadStatus.OPEN, sa_type=String(10))
    priority: Priority = Field(default=Priority.NORMAL, sa_type=String(8))
    priority_rank: int = Field(default=PRIORITY_RANK[Priority.NORMAL])
    # Copied from the outbound text the patient answered, for the queue's campaign filter; no foreign key,
    # so the inbox does not depend on the campaign tables.
    campaign_id: uuid.UUID | None = Field(default=None)
    awaiting_reply: bool = Field(default=True)
    waiting_since: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    opened_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_message_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    first_response_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    outcome: Outcome | None = Field(default=None, sa_type=String(24))
    claimed_by: uuid.UUID | None = Field(default=None, foreign_key="api_key.id")
    claimed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class ThreadEvent(SQLModel, table=True):
    """Something the team did on a thread (reply, note, claim, release, resolve) or a reopen."""

    __tablename__ = "inbox_event"

    id: uuid.UUID = Field(default_factory=time_ordered_id, primary_key=True)
    clinic_id: uuid.UUID = Field(foreign_key="clinic.id")
    thread_id: uuid.UUID = Field(foreign_key="inbox_thread.id", index=True)
    kind: str = Field(max_length=16)
    key_id: uuid.UUID | None = Field(default=None, foreign_key="api_key.id")
    body: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))
    outbound_message_id: uuid.UUID | None = Field(default=None, foreign_key="outbound_message.id")
    outcome: Outcome | None = Field(default=None, sa_type=String(24))
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class InboxAudit(SQLModel, table=True):
    """Who viewed, answered or closed a thread, and when: append-only."""

    __tablename__ = "inbox_audit"

    id: uuid.UUID = Field(default_factory=time_ordered_id, primary_key=True)
    clinic_id: uuid.UUID = Field(foreign_key="clinic.id", index=True)
    thread_id: uuid.UUID = Field(foreign_key="inbox_thread.id", index=True)
    key_id: uuid.UUID = Field(foreign_key="api_key.id")
    action: str = Field(max_length=16)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class CoordinatorProfile(SQLModel, table=True):
    """A coordinator key's display name and the languages its person reads."""

    __tablename__ = "coordinator_profile"

    api_key_id: uuid.UUID = Field(foreign_key="api_key.id", primary_key=True)
    clinic_id: uuid.UUID = Field(foreign_key="clinic.id", index=True)
    display_name: str = Field(max_length=80)
    languages: str = Field(default="", max_length=400)  # catalog tags, comma-separated: "es,vi"
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
