"""The campaign form of the web app, read into the API's own `CampaignCreate` (and back, for editing).

Field names: `name`, `kind`, `fallback_policy`, `anchor_date`, then per step N (1 to MAX_STEPS)
`sN_hours` (reminders: hours before the visit), `sN_send_at` (broadcasts: clinic time), `sN_first_after_days`,
`sN_every_days`, `sN_times`, `sN_local_time` (check-ins), `sN_source` (`builtin`, `library` or `own`),
`sN_template`, `sN_library` and `sN_body_<language>`. A step after the first counts when any of its
timing fields is filled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from outreach import i18n
from outreach.campaigns.models import Campaign, CampaignKind, CampaignStep, FallbackPolicy
from outreach.campaigns.schemas import CampaignCreate, StepIn
from outreach.errors import Invalid
from outreach.library.service import LibraryTemplate

MAX_STEPS = 3
_TIMING = ("hours", "send_at", "first_after_days", "every_days", "times", "local_time")


@dataclass
class StepDraft:
    """One step as typed: its timing, where its text comes from, and its own texts per language."""

    position: int
    source: str = "builtin"
    template: str = ""
    library: str = ""
    timing: dict[str, str] = field(default_factory=dict)
    bodies: dict[str, str] = field(default_factory=dict)
    stale: list[str] = field(default_factory=list)  # library translations left out as stale

    def sends(self, kind: CampaignKind) -> int:
        """How many texts this step sends each patient."""
        if kind == CampaignKind.CHECKIN:
            return max(1, _int(self.timing.get("times", ""), "times") or 1)
        return 1


@dataclass
class Draft:
    """The whole form as typed."""

    name: str = ""
    kind: CampaignKind = CampaignKind.REMINDER
    fallback_policy: FallbackPolicy = FallbackPolicy.FALLBACK
    anchor_date: str = ""
    steps: list[StepDraft] = field(default_factory=list)


def _int(value: str, name: str) -> int | None:
    if not value.strip():
        return None
    try:
        return int(value)
    except ValueError:
        raise Invalid(name, f"'{value}' is not a whole number") from None


def read(form: dict[str, str], *, library: list[LibraryTemplate]) -> Draft:
    """The form's fields as a draft (nothing checked yet beyond the choices being known)."""
    kinds, policies = {k.value: k for k in CampaignKind}, {p.value: p for p in FallbackPolicy}
    draft = Draft(
        name=form.get("name", "").strip(),
        kind=kinds.get(form.get("kind", ""), CampaignKind.REMINDER),
        fallback_policy=policies.get(form.get("fallback_policy", ""), FallbackPolicy.FALLBACK),
        anchor_date=form.get("anchor_date", "").strip(),
    )
    saved = {t.name: t for t in library}
    for n in range(1, MAX_STEPS + 1):
        timing = {k: form.get(f"s{n}_{k}", "").strip() for k in _TIMING}
        if n > 1 and not any(timing.values()):
            continue
        step = StepDraft(
            position=len(draft.steps) + 1,
            source=form.get(f"s{n}_source", "builtin"),
            template=form.get(f"s{n}_template", ""),
            library=form.get(f"s{n}_library", ""),
            timing=timing,
            bodies={lang: form.get(f"s{n}_body_{lang}", "") for lang in i18n.SUPPORTED},
        )
        if step.source == "library" and step.library in saved:
            chosen = saved[step.library]
            step.bodies, step.stale = chosen.current_bodies(), chosen.stale
        draft.steps.append(step)
    return draft


def _step_in(step: StepDraft, kind: CampaignKind, tz: str) -> StepIn:
    t, where = step.timing, f"steps.{step.position - 1}"
    fields: dict[str, object] = {}
    if kind == CampaignKind.REMINDER and t.get("hours"):
        try:
            fields["offset_minutes"] = -round(float(t["hours"]) * 60)
        except ValueError:
            raise Invalid(f"{where}.hours", f"'{t['hours']}' is not a number of hours") from None
    elif kind == CampaignKind.BROADCAST and t.get("send_at"):
        try:
            fields["send_at"] = datetime.fromisoformat(t["send_at"]).replace(tzinfo=ZoneInfo(tz))
        except ValueError:
            raise Invalid(f"{where}.send_at", f"'{t['send_at']}' is not a date and time") from None
    elif kind == CampaignKind.CHECKIN:
        fields["first_after_days"] = _int(t.get("first_after_days", ""), f"{where}.first_after_days")
        fields["every_days"] = _int(t.get("every_days", ""), f"{where}.every_days")
        fields["times"] = _int(t.get("times", ""), f"{where}.times") or 1
        if t.get("local_time"):
            fields["local_time"] = time.fromisoformat(t["local_time"])
    own = {lang: text for lang, text in step.bodies.items() if text.strip()}
    if step.source in {"own", "library"}:
        fields["bodies"] = own or None
    elif step.template:
        fields["template"] = step.template
    return StepIn.model_validate(fields)


def to_create(draft: Draft, *, tz: str) -> CampaignCreate:
    """The API's `CampaignCreate` for this draft; Invalid naming the field when it cannot be one."""
    if not draft.name:
        raise Invalid("name", "must not be empty")
    anchor: date | None = None
    if draft.kind == CampaignKind.CHECKIN and draft.anchor_date:
        try:
            anchor = date.fromisoformat(draft.anchor_date)
        except ValueError:
            raise Invalid("anchor_date", f"'{draft.anchor_date}' is not a date") from None
    try:
        steps = [_step_in(step, draft.kind, tz) for step in draft.steps]
        return CampaignCreate(
            name=draft.name, kind=draft.kind, fallback_policy=draft.fallback_policy, anchor_date=anchor,
            steps=steps,
        )  # fmt: skip
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "form"
        raise Invalid(where, str(first["msg"]).removeprefix("Value error, ")) from None


def from_campaign(campaign: Campaign, steps: list[CampaignStep], *, tz: str) -> Draft:
    """A saved draft campaign as the form shows it, for editing."""
    draft = Draft(
        name=campaign.name,
        kind=CampaignKind(campaign.kind),
        fallback_policy=FallbackPolicy(campaign.fallback_policy),
        anchor_date=campaign.anchor_date.isoformat() if campaign.anchor_date else "",
    )
    for s in steps:
        timing = {
            "hours": f"{-s.offset_minutes / 60:g}" if s.offset_minutes is not None else "",
            "send_at": s.send_at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%dT%H:%M") if s.send_at else "",
            "first_after_days": "" if s.first_after_days is None else str(s.first_after_days),
            "every_days": "" if s.every_days is None else str(s.every_days),
            "times": "" if s.times is None else str(s.times),
            "local_time": s.local_time.strftime("%H:%M") if s.local_time else "",
        }
        source = "own" if s.bodies else "builtin"
        bodies = {str(k): str(v) for k, v in s.bodies.items()}
        draft.steps.append(StepDraft(s.position, source, s.template or "", "", timing, bodies))
    return draft
