"""What the outcome report returns: groups with counts, rates, intervals, flags and suppression marks."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, Field


class FlagOut(BaseModel):
    """This group's rate trails the best-served group by at least the threshold, significantly."""

    reference: str = Field(description="the best-served group's key")
    reference_label: str
    gap_pp: float = Field(description="percentage points below the reference group's rate")
    p_value: float = Field(description="two-proportion z-test, two-sided")


class RateOut(BaseModel):
    """A rate with its denominator and Wilson 95% interval; null where a count it needs is suppressed."""

    numerator: int | None
    denominator: int | None
    rate: float | None
    ci_low: float | None
    ci_high: float | None
    flag: FlagOut | None = None


class GroupOut(BaseModel):
    """One group of patients (or the total)."""

    key: str
    label: str
    counts: dict[str, int | None] = Field(description="null where suppressed; see `suppressed`")
    suppressed: dict[str, str] = Field(description="count name → small_cell (shown '<11') or complementary")
    rates: dict[str, RateOut]
    flagged: list[str] = Field(description="names of the rates flagged as a disparity")
    estimated_cost: float | None
    cost_per_patient: float | None


class RuleOut(BaseModel):
    """The settings the report was computed with."""

    reply_days: int
    threshold_pp: float
    min_group_size: int
    alpha: float
    small_cell: int


class ResponseTimes(BaseModel):
    """One group's waits, in seconds; null when the group has fewer than 11 threads."""

    key: str
    label: str
    threads: int | None
    answered: int | None
    first_reply_median_s: float | None
    first_reply_p90_s: float | None
    resolved: int | None
    resolution_median_s: float | None
    resolution_p90_s: float | None


class WeekCell(BaseModel):
    """One language in one week."""

    week: date
    key: str
    label: str
    texts_sent: int | None
    delivered_rate: float | None
    reminders_delivered: int | None
    confirmed_rate: float | None


class JourneysOut(BaseModel):
    """Journey outcomes (`figures.JOURNEY_COUNTS`) by group, suppressed like the funnel's counts."""

    by: str = Field(
        description="the dimension journeys are grouped by (language for language_used, fallback)"
    )
    by_meaning: str
    counts: list[str] = Field(description="the count names shown")
    groups: list[GroupOut]
    total: GroupOut


class ReportOut(BaseModel):
    """The outcome report for a campaign or a clinic's date range, grouped by one dimension."""

    clinic_id: uuid.UUID
    campaign_id: uuid.UUID | None
    campaign_name: str | None
    kind: str = Field(description="reminder, checkin, broadcast, or all (clinic scope)")
    date_from: date | None
    date_to: date | None
    by: str
    by_meaning: str
    rule: RuleOut
    generated_at: datetime
    computed_at: datetime | None = Field(
        default=None,
        description="the counts are as of this time (a large campaign's stored summary); null: computed now",
    )
    counts: list[str] = Field(description="the count names shown, in funnel order")
    groups: list[GroupOut]
    total: GroupOut
    response_times: list[ResponseTimes] = Field(
        default_factory=list, description="by language or interpreter only: waits for a person's reply"
    )
    journeys: JourneysOut | None = Field(
        default=None, description="journey outcomes by group; null when the scope has no journeys"
    )
