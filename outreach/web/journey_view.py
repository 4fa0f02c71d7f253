"""What a journey campaign's page shows: patients waiting at each step (bars), ended journeys by reason,
and outcomes by language with small groups withheld (see outreach/journeys/report.py)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session

from outreach.campaigns.models import Campaign, CampaignStatus, CampaignStep
from outreach.journeys import report
from outreach.journeys.models import EndReason
from outreach.web.display import offset, when
from outreach.web.wording import plural

BAR_WIDTH = 320  # px of the longest bar (the step most patients wait for)
WITHHELD = f"fewer than {report.SMALL_CELL}"
EVENTS = {
    "discharged": "discharge",
    "procedure_done": "procedure",
    "first_visit": "first visit",
    "visit_fulfilled": "fulfilled visit",
    "custom": "recorded date",
}
ENDED = {
    EndReason.OPTED_OUT.value: "Opted out",
    EndReason.READMITTED.value: "Restarted by a newer event (readmission)",
    EndReason.COORDINATOR.value: "Ended by a coordinator",
    EndReason.EVENT_DELETED.value: "Their event was deleted",
}
OUTCOMES = (
    ("journeys", "Journeys"),
    ("answered", "Answered at least once"),
    ("worse", "Answered worse"),
    ("no_reply", "No reply (call task raised)"),
    ("ended_early", "Ended early"),
)


def step_timing(step: CampaignStep, anchor_event: str | None = None) -> str:
    """When a step sends, as a person says it ("48 h after the patient's discharge", "7 days after ...")."""
    anchor = f"the patient's {EVENTS.get(anchor_event, anchor_event)}" if anchor_event else ""
    parts = []
    if step.offset_minutes is not None:
        said = offset(step.offset_minutes)
        parts.append(said.replace("the visit", anchor) if anchor else said)
    if step.send_at:
        parts.append(f"at {when(step.send_at)}")
    if step.first_after_days is not None:
        said = f"{plural(step.first_after_days, 'day')} after {anchor or 'the anchor date'}"
        if step.times and step.times > 1:
            said += f", then every {plural(step.every_days or 0, 'day')}, {step.times} times"
        if anchor and step.local_time:
            said += f", at {step.local_time.strftime('%H:%M')} in the patient's time"
        parts.append(said)
    return " ".join(parts)


@dataclass(frozen=True, slots=True)
class StepRow:
    """One step and how many running journeys wait for it."""

    position: int
    timing: str
    waiting: int
    width: float


@dataclass(frozen=True, slots=True)
class LanguageRow:
    """One language's outcomes, each a count or the withheld wording."""

    language: str
    cells: list[str]
    withheld: bool  # the whole group is too small to show anything


@dataclass(frozen=True, slots=True)
class JourneyView:
    """Where a journey campaign's patients are."""

    active: int
    steps: list[StepRow]
    not_scheduled: int  # running journeys with no unsent text in the outbox right now
    ended: list[tuple[str, int]]
    languages: list[LanguageRow]
    outcome_labels: list[str]
    bar_width: int


def _language_row(language: str, outcomes: report.LanguageOutcomes) -> LanguageRow:
    values = [getattr(outcomes, name) for name, _ in OUTCOMES]
    cells = [WITHHELD if v is None else f"{v:,}" for v in values]
    return LanguageRow(language=language, cells=cells, withheld=outcomes.journeys is None)


def journey_view(
    *, db: Session, clinic_id: uuid.UUID, campaign: Campaign, steps: Sequence[CampaignStep]
) -> JourneyView | None:
    """The journeys at a glance for a launched journey campaign; None for other campaigns and drafts."""
    if campaign.anchor_event is None or campaign.status == CampaignStatus.DRAFT:
        return None
    found = report.summary(session=db, clinic_id=clinic_id, campaign_id=campaign.id)
    most = max(found.waiting_for_step.values(), default=0)
    rows = [
        StepRow(
            position=s.position,
            timing=step_timing(s, campaign.anchor_event),
            waiting=found.waiting_for_step.get(s.position, 0),
            width=round(BAR_WIDTH * found.waiting_for_step.get(s.position, 0) / most, 1) if most else 0.0,
        )
        for s in steps
    ]
    ended = sorted(
        ((ENDED.get(reason, "Ended"), n) for reason, n in found.ended.items()), key=lambda item: -item[1]
    )
    return JourneyView(
        active=found.active,
        steps=rows,
        not_scheduled=max(0, found.active - sum(found.waiting_for_step.values())),
        ended=ended,
        languages=[_language_row(tag, o) for tag, o in found.by_language.items()],
        outcome_labels=[label for _, label in OUTCOMES],
        bar_width=BAR_WIDTH,
    )
