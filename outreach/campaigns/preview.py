"""Looking before launching: one step rendered for one patient, and the whole timeline without writing."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from outreach import i18n
from outreach.campaigns.launch import excluded_counts, recipients
from outreach.campaigns.models import CampaignKind
from outreach.campaigns.planning import Planner, Recipient
from outreach.campaigns.schemas import PreviewOut, Timeline
from outreach.campaigns.service import get_campaign, get_steps
from outreach.clinics.models import Clinic
from outreach.errors import Conflict, Invalid
from outreach.journeys import preview as journeys
from outreach.messaging.models import MessageStatus
from outreach.patients.models import Appointment, AppointmentStatus
from outreach.patients.service import get_patient
from outreach.security import spend


def _planner(*, session: Session, clinic_id: uuid.UUID, campaign_id: uuid.UUID, now: datetime) -> Planner:
    campaign = get_campaign(session=session, clinic_id=clinic_id, campaign_id=campaign_id)
    steps = get_steps(session=session, campaign_id=campaign.id)
    return Planner(clinic=session.get_one(Clinic, clinic_id), campaign=campaign, steps=steps, now=now)


def _with_next_visit(*, session: Session, who: Recipient, now: datetime) -> Recipient:
    """The patient with their next upcoming visit, which a reminder preview is about."""
    visit = session.exec(
        select(Appointment)
        .where(
            Appointment.patient_id == who.patient_id,
            col(Appointment.starts_at) > now,
            Appointment.status != AppointmentStatus.CANCELLED,
        )
        .order_by(col(Appointment.starts_at))
    ).first()
    if visit is None:
        raise Conflict("the patient has no upcoming appointment to remind about")
    return replace(who, appointment_id=visit.id, starts_at=visit.starts_at, location=visit.location)


def preview(
    *,
    session: Session,
    clinic_id: uuid.UUID,
    campaign_id: uuid.UUID,
    patient_id: uuid.UUID,
    step: int,
    now: datetime,
    event_id: uuid.UUID | None = None,
) -> PreviewOut:
    """The first text one step would send one patient (their next visit, for reminders)."""
    planner = _planner(session=session, clinic_id=clinic_id, campaign_id=campaign_id, now=now)
    if step > len(planner.steps):
        raise Invalid("step", f"the campaign has {len(planner.steps)} steps, not {step}")
    patient = get_patient(session=session, clinic_id=clinic_id, patient_id=patient_id)
    who = Recipient(patient.id, patient.given_name, patient.language, patient.timezone)
    if planner.kind == CampaignKind.REMINDER:
        who = _with_next_visit(session=session, who=who, now=now)
    elif planner.campaign.anchor_event is not None:  # a journey: from the patient's own event
        who = journeys.anchored(session=session, campaign=planner.campaign, who=who, event_id=event_id)
    chosen = planner.steps[step - 1]
    rows = [row for row in planner.rows(who) if row["step_id"] == chosen.id]
    if not rows:
        raise Conflict("this step sends nothing to this patient")
    row = rows[0]
    return PreviewOut(
        body=row["body"] or None,
        language=row["language"],
        segments=row["segments"],
        encoding=row["encoding"],
        send_at=row["send_at"] if row["status"] == MessageStatus.SCHEDULED.value else None,
        status=row["status"],
        reason=row["error_reason"],
        fell_back=planner.choose(chosen, patient.language).fell_back,
        notice=next(iter(_notices(planner, {patient.language})), None) if chosen.template else None,
    )


def _notices(planner: Planner, tags: set[str]) -> list[str]:
    """Review notices for the built-in catalogs these patients' languages would use."""
    if not any(step.template for step in planner.steps):
        return []  # the clinic wrote every text itself
    default = planner.clinic.default_language
    languages = {i18n.negotiate(tag, clinic_default=default).language for tag in tags}
    return sorted(notice for language in languages if (notice := i18n.review_notice(language)))


def dry_run(*, session: Session, clinic_id: uuid.UUID, campaign_id: uuid.UUID, now: datetime) -> Timeline:
    """What launching now would write: counts per day and language, segments, cost, exclusions, fallbacks."""
    planner = _planner(session=session, clinic_id=clinic_id, campaign_id=campaign_id, now=now)
    zone = ZoneInfo(planner.clinic.timezone)
    per_day: Counter[str] = Counter()
    per_language: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    fallbacks: Counter[str] = Counter()
    day_segments: Counter[str] = Counter()
    rows = held = segments = 0
    tags: set[str] = set()
    campaign = planner.campaign
    source = (
        journeys.journey_recipients(session=session, campaign=campaign)
        if campaign.anchor_event is not None
        else recipients(session=session, campaign=campaign, now=now)
    )
    for batch in source:
        for who in batch:
            tags.add(who.language)
            for row in planner.rows(who):
                rows += 1
                if row["status"] == MessageStatus.SKIPPED.value:
                    skipped[row["error_reason"].split(":")[0]] += 1
                    continue
                step = next(s for s in planner.steps if s.id == row["step_id"])
                if planner.choose(step, who.language).fell_back:
                    fallbacks[f"{who.language}->{row['language']}"] += 1
                if row["status"] == MessageStatus.HELD.value:
                    held += 1
                    continue
                day = row["send_at"].astimezone(zone).date().isoformat()
                per_day[day] += 1
                day_segments[day] += row["segments"]
                per_language[row["language"]] += 1
                segments += row["segments"]
    return Timeline(
        rows=rows,
        scheduled=sum(per_day.values()),
        per_day=dict(sorted(per_day.items())),
        per_language=dict(per_language.most_common()),
        segments=segments,
        estimated_cost=round(segments * planner.clinic.cost_per_segment, 4),
        skipped=dict(skipped),
        held=held,
        excluded=excluded_counts(session=session, campaign=planner.campaign, now=now),
        fallbacks=dict(fallbacks),
        notices=_notices(planner, tags),
        over_daily_cap=spend.over_cap(session=session, clinic=planner.clinic, segments_per_day=day_segments),
    )
