"""Turning one enrolled patient into outbox rows: when (timing rules), in which language, what text.

A `Planner` is built once per launch and holds every cache a launch needs: planned send times per
(target, zone, deadline) — a clinic's appointment grid repeats them across thousands of patients — and
the chosen text per (step, language). Rendering then costs one `str.format_map` per row.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from outreach import i18n
from outreach.campaigns import timing
from outreach.campaigns.models import Campaign, CampaignKind, CampaignStep, FallbackPolicy
from outreach.clinics.models import Clinic
from outreach.db import time_ordered_id
from outreach.messaging.models import MessageStatus

# Values only a visit can give; campaigns that are not reminders may not use them.
APPOINTMENT_PLACEHOLDERS = frozenset({"appointment_date", "appointment_time", "appointment_location"})
_NOON = time(12, 0)
HELD_LANGUAGE = "no_text_in_language"  # error_reason prefix of rows held by the fallback policy


@dataclass(frozen=True, slots=True)
class Recipient:
    """The fields of a patient (and one of their visits, for reminders) that planning reads."""

    patient_id: uuid.UUID
    given_name: str
    language: str
    timezone: str
    appointment_id: uuid.UUID | None = None
    starts_at: datetime | None = None
    location: str = ""
    journey_id: uuid.UUID | None = None  # journeys: the series, timed from the patient's event at `anchor_at`
    anchor_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Choice:
    """The text a step uses for a patient's language, or None when the campaign holds it."""

    text: str | None
    language: str
    fell_back: bool
    held_because: str | None = None  # why a held row has no text, when it is not the missing language


class Planner:
    """Plans the outbox rows of one campaign for one moment (`now`)."""

    def __init__(
        self,
        *,
        clinic: Clinic,
        campaign: Campaign,
        steps: Sequence[CampaignStep],
        now: datetime,
        launched_at: datetime | None = None,
    ):
        self.clinic, self.campaign, self.steps, self.now = clinic, campaign, list(steps), now
        # A check-in series without an anchor date starts on the day of the launch, however late its
        # texts are written.
        self.launched_at = launched_at or now
        # A clinic with equal start and end keeps no quiet hours (QuietHours refuses that window).
        off = clinic.quiet_start == clinic.quiet_end
        self.quiet = None if off else timing.QuietHours(start=clinic.quiet_start, end=clinic.quiet_end)
        self.kind = campaign.kind.value if isinstance(campaign.kind, CampaignKind) else str(campaign.kind)
        self._plans: dict[tuple[datetime, str, datetime | None], timing.Planned] = {}
        self._choices: dict[tuple[uuid.UUID, str], Choice] = {}
        self._when: dict[tuple[datetime, str, str], tuple[str, str]] = {}
        self._clinic_values = {"clinic_name": clinic.name, "clinic_phone": clinic.phone}

    def choose(self, step: CampaignStep, tag: str) -> Choice:
        """The text and language a step uses for a patient's language tag."""
        key = (step.id, tag)
        if key not in self._choices:
            self._choices[key] = self._choose(step, tag)
        return self._choices[key]

    def _choose(self, step: CampaignStep, tag: str) -> Choice:
        wanted = i18n.negotiate(tag, clinic_default=self.clinic.default_language)
        fallback = i18n.negotiate(None, clinic_default=self.clinic.default_language).language
        own = wanted.language if not wanted.fell_back else None
        hold = self.campaign.fallback_policy == FallbackPolicy.HOLD
        if step.bodies:
            if own is not None and own in step.bodies:
                return Choice(step.bodies[own], own, fell_back=False)
            return Choice(None if hold else step.bodies[fallback], fallback, fell_back=True)
        if self.clinic.require_reviewed_translations:
            reviewed = i18n.reviewed_choice(
                step.template or "", wanted, clinic_default=self.clinic.default_language
            )
            if reviewed is not None:  # the catalog is a draft: fall back or hold, as for a missing language
                why = i18n.review_notice(wanted.language)
                if hold:
                    return Choice(None, wanted.language, fell_back=True, held_because=why)
                return Choice(reviewed.text, reviewed.language, fell_back=True)
        text = i18n.template_text(step.template or "", wanted.language)
        if wanted.fell_back and hold:
            return Choice(None, wanted.language, fell_back=True)
        return Choice(text, wanted.language, fell_back=wanted.fell_back)

    def targets(self, step: CampaignStep, who: Recipient) -> list[datetime]:
        """The moments a step means to reach this patient, before quiet hours are applied."""
        if self.kind == CampaignKind.REMINDER:
            if who.starts_at is None or step.offset_minutes is None:
                return []
            offset = timedelta(minutes=step.offset_minutes)
            return [timing.reminder_target(appointment_start=who.starts_at, offset=offset)]
        if self.campaign.anchor_event is not None:
            return journey_targets(step, who)
        if self.kind == CampaignKind.CHECKIN:
            anchor_day = (
                self.campaign.anchor_date or self.launched_at.astimezone(ZoneInfo(who.timezone)).date()
            )
            return timing.checkin_series(
                anchor=datetime.combine(anchor_day, _NOON, tzinfo=ZoneInfo(who.timezone)),
                tz=who.timezone,
                first_after_days=step.first_after_days or 0,
                every_days=step.every_days or 0,
                times=step.times or 1,
                local_time=step.local_time or _NOON,
            )
        return [step.send_at] if step.send_at is not None else []

    def plan(self, target: datetime, tz: str, not_after: datetime | None) -> timing.Planned:
        """Quiet hours, deadline and the past applied to one target (cached: targets repeat)."""
        key = (target, tz, not_after)
        found = self._plans.get(key)
        if found is None:
            if self.quiet is None:
                found = _plain(target=target, now=self.now, not_after=not_after)
            else:
                found = timing.plan_send(
                    target=target, tz=tz, quiet=self.quiet, now=self.now, not_after=not_after
                )
            self._plans[key] = found
        return found

    def rows(self, who: Recipient) -> Iterator[dict[str, Any]]:
        """Every outbox row this patient gets from this campaign."""
        for step in self.steps:
            yield from self.rows_for_step(step, who)

    def rows_for_step(self, step: CampaignStep, who: Recipient) -> Iterator[dict[str, Any]]:
        """The outbox rows one step gives this patient."""
        choice = self.choose(step, who.language)
        for target in self.targets(step, who):
            yield self._row(step=step, who=who, choice=choice, target=target)

    def rows_between(self, who: Recipient, start: datetime | None, end: datetime) -> Iterator[dict[str, Any]]:
        """The rows whose target moment (before quiet hours move it) is in [start, end)."""
        for step in self.steps:
            choice = self.choose(step, who.language)
            for target in self.targets(step, who):
                if (start is None or target >= start) and target < end:
                    yield self._row(step=step, who=who, choice=choice, target=target)

    def _row(self, *, step: CampaignStep, who: Recipient, choice: Choice, target: datetime) -> dict[str, Any]:
        planned = self.plan(
            target, who.timezone, who.starts_at if self.kind == CampaignKind.REMINDER else None
        )
        row: dict[str, Any] = {
            "id": time_ordered_id(), "clinic_id": self.clinic.id, "patient_id": who.patient_id,
            "kind": self.kind,
            "campaign_id": self.campaign.id, "step_id": step.id, "appointment_id": who.appointment_id,
            "journey_id": who.journey_id,
            "send_at": planned.send_at or target, "language": choice.language, "attempts": 0,
            "created_at": self.now, "updated_at": self.now, "error_reason": None,
        }  # fmt: skip
        if planned.send_at is None:
            reason = f"{planned.reason_code}: {planned.skip_reason}"
            row.update(status=MessageStatus.SKIPPED.value, error_reason=reason[:255])
        elif choice.text is None:
            why = choice.held_because or "no text in the patient's language"
            reason = f"{HELD_LANGUAGE}: {why} ({who.language})"
            row.update(status=MessageStatus.HELD.value, error_reason=reason[:255])
        else:
            row["status"] = MessageStatus.SCHEDULED.value
        if choice.text is None:
            row.update(body="", segments=0, encoding="GSM-7")
            return row
        rendered = i18n.render_text(
            choice.text, language=choice.language, values=self.values(who, choice.language), tz=who.timezone
        )
        row.update(
            body=rendered.body, segments=rendered.segments.segments, encoding=rendered.segments.encoding
        )
        return row

    def values(self, who: Recipient, language: str) -> dict[str, object]:
        """Placeholder values for one patient, visit date and time already in their language and zone."""
        values: dict[str, object] = {**self._clinic_values, "first_name": who.given_name}
        if who.starts_at is not None:
            key = (who.starts_at, who.timezone, language)
            shown = self._when.get(key)
            if shown is None:
                at, tz = who.starts_at, who.timezone
                shown = (
                    i18n.format_datetime_local(at, language=language, tz=tz, part="date"),
                    i18n.format_datetime_local(at, language=language, tz=tz, part="time"),
                )
                self._when[key] = shown
            values.update(
                appointment_date=shown[0], appointment_time=shown[1], appointment_location=who.location
            )
        return values


def journey_targets(step: CampaignStep, who: Recipient) -> list[datetime]:
    """A journey step's moments: elapsed time after the patient's event, or local days after its date."""
    if who.anchor_at is None:
        return []
    if step.offset_minutes is not None:
        return [(who.anchor_at + timedelta(minutes=step.offset_minutes)).astimezone(UTC)]
    day = who.anchor_at.astimezone(timing.zone(who.timezone)).date()
    first, every, times = step.first_after_days or 0, step.every_days or 0, step.times or 1
    return list(_local_series(day, who.timezone, first, every, times, step.local_time or _NOON))


@lru_cache(maxsize=8192)
def _local_series(day: date, tz: str, first: int, every: int, times: int, at: time) -> tuple[datetime, ...]:
    """`timing.checkin_series` from a local day (cached: a day's discharges in one zone share it)."""
    return tuple(timing.local_at(day + timedelta(days=first + every * n), at, tz) for n in range(times))


def _plain(*, target: datetime, now: datetime, not_after: datetime | None) -> timing.Planned:
    """The plan when a clinic keeps no quiet hours."""
    if target < now:
        return timing.Planned(
            send_at=None, skip_reason="the send time has passed", moved=False, reason_code="past"
        )
    if not_after is not None and target >= not_after:
        reason = "no allowed time before the appointment"
        return timing.Planned(send_at=None, skip_reason=reason, moved=False, reason_code="no_allowed_time")
    return timing.Planned(send_at=target, skip_reason=None, moved=False, reason_code=None)
