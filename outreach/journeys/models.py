"""Patient events, the journeys they start, the rules that start them, and the journeys' audit trail."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from outreach.db import UTCDateTime, new_id, time_ordered_id, utcnow

_ACTIVE = text("status = 'active'")


class EventKind(StrEnum):
    """What happened to a patient that a journey can be timed from."""

    DISCHARGED = "discharged"
    PROCEDURE_DONE = "procedure_done"
    FIRST_VISIT = "first_visit"
    VISIT_FULFILLED = "visit_fulfilled"
    CUSTOM = "custom"  # a date the clinic records (its own meaning, named in `visit_type`)


class JourneyStatus(StrEnum):
    """A journey runs until its series is over or something ends it early."""

    ACTIVE = "active"
    ENDED = "ended"


class EndReason(StrEnum):
    """Why a journey ended."""

    OPTED_OUT = "opted_out"
    READMITTED = "readmitted"  # a newer event of the same kind restarted the series
    COORDINATOR = "ended_by_coordinator"
    EVENT_DELETED = "event_deleted"


class PatientEvent(SQLModel, table=True):
    """Something that happened to a patient (a discharge, a procedure...), at a moment, from a source.

    The same patient, kind and moment is one event however often it is imported (the unique key), so
    two imports of one file at once record it once and start its journeys once.
    """

    __tablename__ = "patient_event"
    # The unique key also serves a patient's events (its leading column). No key or index on the clinic:
    # the patient's key carries it, and each is a per-row cost when a feed records thousands at once.
    __table_args__ = (UniqueConstraint("patient_id", "kind", "occurred_at", name="uq_patient_event_moment"),)

    id: uuid.UUID = Field(default_factory=time_ordered_id, primary_key=True)
    clinic_id: uuid.UUID
    patient_id: uuid.UUID = Field(foreign_key="patient.id")
    kind: EventKind = Field(sa_type=String(24))
    occurred_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    location: str | None = Field(default=None, max_length=120)
    visit_type: str | None = Field(default=None, max_length=120)
    source: str = Field(default="api", max_length=40)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    deleted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class EnrollmentRule(SQLModel, table=True):
    """A clinic's rule: when an event of this kind (at this location, of this type) is recorded, enroll."""

    __tablename__ = "journey_rule"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    clinic_id: uuid.UUID = Field(foreign_key="clinic.id", index=True)
    campaign_id: uuid.UUID = Field(foreign_key="campaign.id")
    event_kind: EventKind = Field(sa_type=String(24))
    location: str | None = Field(default=None, max_length=120)  # None: any location
    visit_type: str | None = Field(default=None, max_length=120)  # None: any type
    active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Journey(SQLModel, table=True):
    """One patient's series of one campaign, timed from one of their events.

    `anchor_at` is the event's moment when the series was last planned; `planned_until` is the target
    time up to which the series' texts are in the outbox, so a window and the change paths never write
    one twice. One journey per (campaign, event): the unique key makes a rule fire once per event.
    """

    __tablename__ = "journey"
    __table_args__ = (
        # (event, campaign): also finds an event's journeys when it is corrected or deleted.
        UniqueConstraint("event_id", "campaign_id", name="uq_journey_event_campaign"),
        Index(
            "ix_journey_active_anchor",
            "campaign_id",
            "anchor_at",
            postgresql_where=_ACTIVE,
            sqlite_where=_ACTIVE,
        ),
        Index("ix_journey_patient", "patient_id", "campaign_id"),
    )

    id: uuid.UUID = Field(default_factory=time_ordered_id, primary_key=True)
    # Plain columns for the clinic, the patient and the rule (the campaign's and the event's keys carry
    # the clinic and the patient; the rule is for the audit): each key is a per-row check when thousands
    # of journeys start at once.
    clinic_id: uuid.UUID
    campaign_id: uuid.UUID = Field(foreign_key="campaign.id")
    patient_id: uuid.UUID
    event_id: uuid.UUID = Field(foreign_key="patient_event.id")
    rule_id: uuid.UUID | None = Field(default=None)
    status: JourneyStatus = Field(default=JourneyStatus.ACTIVE, sa_type=String(10))
    end_reason: str | None = Field(default=None, max_length=40)
    anchor_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    planned_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    escalated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    started_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ended_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class JourneyAudit(SQLModel, table=True):
    """What happened to a journey and who or what did it (a rule, a key, the follow-through): append-only."""

    __tablename__ = "journey_audit"

    id: uuid.UUID = Field(default_factory=time_ordered_id, primary_key=True)
    clinic_id: uuid.UUID = Field(foreign_key="clinic.id", index=True)
    journey_id: uuid.UUID = Field(foreign_key="journey.id", index=True)
    action: str = Field(max_length=24)  # enrolled, replanned, escalated, ended
    rule_id: uuid.UUID | None = Field(default=None)
    key_id: uuid.UUID | None = Field(default=None)
    detail: str | None = Field(default=None, max_length=120)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
