"""Live feedback while a campaign is written: per language, who it reaches, in which text, at what cost.

Nothing here writes. Each language's choice goes through the launch's own `Planner.choose` (so the page
says exactly what a launch would do: the patient's own text, the built-in translation, a fallback, or a
hold), its sample text through the same rendering and segment counting as a real send, and its text
through the same placeholder check as creating the campaign.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from sqlmodel import Session, col, func, select

from outreach import i18n
from outreach.campaigns.models import Campaign, CampaignKind, CampaignStep, FallbackPolicy
from outreach.campaigns.planning import Planner
from outreach.campaigns.service import check_text
from outreach.clinics.models import Clinic
from outreach.errors import Invalid
from outreach.patients.models import ConsentStatus, Patient

SAMPLE_FIRST_NAME = "Maria"
SAMPLE_LOCATION = "Main St"


@dataclass(frozen=True, slots=True)
class LanguageFeedback:
    """What one language's patients would get from one step."""

    language: str
    patients: int
    source: str  # "own", "built-in", "fallback" or "held"
    used_language: str
    sample: str | None
    encoding: str | None
    segments: int
    cost_per_text: float
    cost: float
    problem: str | None
    notice: str | None = None  # the built-in catalog's review status, when it is not fully reviewed


@dataclass(frozen=True, slots=True)
class StepFeedback:
    """One step's feedback: every language that has patients or text, and the problems found."""

    position: int
    sends: int
    languages: list[LanguageFeedback]
    problems: list[str] = field(default_factory=list)

    @property
    def total_cost(self) -> float:
        """The estimated cost of this step for every consenting patient."""
        return round(sum(lf.cost for lf in self.languages), 4)


def patients_by_language(*, session: Session, clinic_id: uuid.UUID, clinic_default: str) -> Counter[str]:
    """The clinic's consenting patients counted by the catalog language their tag negotiates to."""
    rows = session.exec(
        select(Patient.language, func.count())
        .where(Patient.clinic_id == clinic_id, Patient.consent == ConsentStatus.GRANTED)
        .group_by(col(Patient.language))
    ).all()
    counts: Counter[str] = Counter()
    for tag, n in rows:
        chosen = i18n.negotiate(tag, clinic_default=clinic_default)
        counts[chosen.language if not chosen.fell_back else f"?{tag}"] += n
    return counts


def _sample_values(clinic: Clinic, now: datetime) -> dict[str, object]:
    visit = (now + timedelta(days=7)).astimezone(ZoneInfo(clinic.timezone))
    visit = visit.replace(hour=14, minute=30, second=0, microsecond=0)
    return {
        "first_name": SAMPLE_FIRST_NAME,
        "clinic_name": clinic.name,
        "clinic_phone": clinic.phone or "+12025550100",
        "appointment_date": visit,
        "appointment_time": visit,
        "appointment_location": SAMPLE_LOCATION,
    }


def _problem(kind: CampaignKind, text: str, language: str) -> str | None:
    try:
        check_text(kind=kind, text=text, language=language, where="text")
    except Invalid as exc:
        return exc.reason
    return None


def step_feedback(
    *,
    clinic: Clinic,
    kind: CampaignKind,
    policy: FallbackPolicy,
    position: int,
    template: str | None,
    bodies: dict[str, str],
    sends: int,
    patients: Counter[str],
    now: datetime,
) -> StepFeedback:
    """Per language: patients, source (own/built-in/fallback/held), sample, segments, cost, problems."""
    campaign = Campaign(clinic_id=clinic.id, name="draft", kind=kind, fallback_policy=policy)
    filled = {lang: text for lang, text in bodies.items() if text.strip()}
    step = CampaignStep(campaign_id=campaign.id, position=position, template=None if filled else template)
    step.bodies = filled
    planner = Planner(clinic=clinic, campaign=campaign, steps=[step], now=now)
    fallback = i18n.negotiate(None, clinic_default=clinic.default_language).language
    problems: list[str] = []
    if filled and fallback not in filled:
        problems.append(
            f"Write the {i18n_name(fallback)} text: it is what patients without their own text get."
        )
    if not filled and not template:
        problems.append("Choose a built-in text or write your own.")
        return StepFeedback(position=position, sends=sends, languages=[], problems=problems)
    values = _sample_values(clinic, now)
    shown = [lang for lang in i18n.SUPPORTED if patients.get(lang) or lang in filled or lang == fallback]
    unmatched = sorted(tag for tag in patients if tag.startswith("?"))
    rows = [_language(planner, step, lang, patients.get(lang, 0), values, kind, sends) for lang in shown]
    rows += [_language(planner, step, tag[1:], patients[tag], values, kind, sends) for tag in unmatched]
    seen: dict[str, str] = {}  # a fallback text's problem is told once, for the text, not per language
    for r in rows:
        if r.problem and r.used_language not in seen:
            seen[r.used_language] = f"{i18n_name(r.used_language)} text: {r.problem}"
    problems += list(seen.values())
    return StepFeedback(position=position, sends=sends, languages=rows, problems=problems)


def i18n_name(language: str) -> str:
    """A language's English name, for messages ("Somali"), or the tag itself."""
    try:
        return str(Locale.parse(language, sep="-").get_display_name("en") or language)
    except (ValueError, UnknownLocaleError):
        return language


def _language(
    planner: Planner,
    step: CampaignStep,
    tag: str,
    count: int,
    values: dict[str, object],
    kind: CampaignKind,
    sends: int,
) -> LanguageFeedback:
    try:
        choice = planner.choose(step, tag)
    except KeyError:  # own text without the fallback language's: reported once for the step
        return LanguageFeedback(tag, count, "missing", tag, None, None, 0, 0.0, 0.0, None)
    own = bool(step.bodies) and not choice.fell_back
    source = (
        "held" if choice.text is None else "fallback" if choice.fell_back else "own" if own else "built-in"
    )
    if choice.text is None:
        held = choice.held_because
        return LanguageFeedback(tag, count, source, choice.language, None, None, 0, 0.0, 0.0, None, held)
    built_in = not step.bodies and choice.language in i18n.SUPPORTED
    problem = _problem(kind, choice.text, choice.language)
    sample = None
    segments, encoding = 0, None
    if problem is None:
        try:
            rendered = i18n.render_text(
                choice.text, language=choice.language, values=values, tz=planner.clinic.timezone
            )
        except (KeyError, ValueError, IndexError) as exc:
            problem = f"cannot be filled in: {exc}"
        else:
            sample, segments, encoding = rendered.body, rendered.segments.segments, rendered.segments.encoding
    per_text = round(segments * planner.clinic.cost_per_segment, 4)
    return LanguageFeedback(
        language=tag,
        patients=count,
        source=source,
        used_language=choice.language,
        sample=sample,
        encoding=encoding,
        segments=segments,
        cost_per_text=per_text,
        cost=round(per_text * count * sends, 4),
        problem=problem,
        notice=i18n.review_notice(choice.language) if built_in else None,
    )
