"""What an import or a sync reports: counts per resource type, and every resource left out, with why."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Outcome = Literal["created", "updated", "unchanged", "skipped", "rejected"]


class TypeCounts(BaseModel):
    """How many resources of one type were created, updated, left unchanged, skipped or rejected."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    rejected: int = 0


class ResourceNote(BaseModel):
    """One resource and the reason it was skipped, rejected or cannot be texted."""

    resource_type: str
    id: str
    reason: str


class EventCounts(BaseModel):
    """Patient events from Encounters (discharges) and fulfilled Appointments, and the journeys started."""

    recorded: int = Field(default=0, description="new events")
    corrected: int = Field(default=0, description="events whose moment, location or type changed")
    deleted: int = Field(default=0, description="events withdrawn (cancelled, entered-in-error)")
    journeys_started: int = 0
    journeys_restarted: int = Field(default=0, description="earlier journeys a new event restarted")
    history: int = Field(default=0, description="events over 90 days before the import: not recorded")


class ImportSummary(BaseModel):
    """The outcome of one import or sync."""

    counts: dict[str, TypeCounts] = Field(default_factory=dict)
    events: EventCounts = Field(default_factory=EventCounts)
    rejected: list[ResourceNote] = Field(default_factory=list)
    skipped: list[ResourceNote] = Field(default_factory=list)
    not_textable: list[ResourceNote] = Field(default_factory=list)

    def add(self, resource_type: str, outcome: Outcome, *, fhir_id: str = "", reason: str = "") -> None:
        """Count one resource; a skipped or rejected one is listed with its reason."""
        counts = self.counts.get(resource_type)
        if counts is None:
            counts = self.counts[resource_type] = TypeCounts()
        setattr(counts, outcome, getattr(counts, outcome) + 1)
        if outcome == "rejected":
            self.rejected.append(ResourceNote(resource_type=resource_type, id=fhir_id, reason=reason))
        elif outcome == "skipped":
            self.skipped.append(ResourceNote(resource_type=resource_type, id=fhir_id, reason=reason))

    def total(self) -> int:
        """Every resource counted."""
        return sum(sum(c.model_dump().values()) for c in self.counts.values())
