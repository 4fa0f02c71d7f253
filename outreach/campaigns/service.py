"""Creating campaigns (with every step checked up front), enrolling patients, pausing and resuming."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from outreach import i18n
from outreach.campaigns import timing
from outreach.campaigns.models import Campaign, CampaignKind, CampaignStatus, CampaignStep
from outreach.campaigns.planning import APPOINTMENT_PLACEHOLDERS
from outreach.campaigns.schemas import CampaignCreate, StepIn
from outreach.clinics.models import Clinic
from outreach.errors import Conflict, Invalid
from outreach.messaging.models import CAMPAIGN_PAUSED, MessageStatus, OutboundMessage
from outreach.security import phi
from outreach.sms.base import MAX_BODY_CHARS
from outreach.tenancy import get_owned

DEFAULT_TEMPLATE = {
    CampaignKind.REMINDER: i18n.TemplateKey.APPOINTMENT_REMINDER,
    CampaignKind.CHECKIN: i18n.TemplateKey.CHECKIN_POST_VISIT,
}
PAUSED = CAMPAIGN_PAUSED  # error_reason of rows held while their campaign is paused


def _check_timing(*, kind: CampaignKind, step: StepIn, where: str, now: datetime, journey: bool) -> None:
    """Refuse a step that can never fire."""
    try:
        if kind == CampaignKind.REMINDER:
            if step.offset_minutes is None:
                raise Invalid(f"{where}.offset_minutes", "a reminder step needs an offset, e.g. -1440")
            timing.validate_reminder_offset(timedelta(minutes=step.offset_minutes))
        elif kind == CampaignKind.CHECKIN and journey and step.offset_minutes is not None:
            timing.validate_after_event(timedelta(minutes=step.offset_minutes))
        elif kind == CampaignKind.CHECKIN:
            if step.first_after_days is None or step.times is None:
                raise Invalid(where, "a check-in step needs first_after_days and times")
            timing.validate_checkin(step.first_after_days, step.every_days or 0, step.times)
        elif step.send_at is None:
            raise Invalid(f"{where}.send_at", "a broadcast step needs send_at")
        elif step.send_at <= now:
            raise Invalid(f"{where}.send_at", f"'{step.send_at.isoformat()}' is in the past")
    except ValueError as exc:
        raise Invalid(where, str(exc)) from exc


def allowed_placeholders(kind: CampaignKind) -> list[str]:
    """The placeholders a campaign of this kind may use (appointment ones only in reminders)."""
    names = i18n.ALLOWED_PLACEHOLDERS - (set() if kind == CampaignKind.REMINDER else APPOINTMENT_PLACEHOLDERS)
    return sorted(names)


def check_text(*, kind: CampaignKind, text: str, language: str, where: str) -> None:
    """Only allow-listed placeholders, and appointment ones only where there is an appointment."""
    if len(text) > MAX_BODY_CHARS:
        raise Invalid(where, f"is {len(text)} characters; the limit is {MAX_BODY_CHARS}")
    try:
        names = i18n.placeholders(text)
    except ValueError as exc:
        raise Invalid(where, f"cannot be read in language {language}: {exc}") from exc
    allowed = ", ".join(f"{{{n}}}" for n in allowed_placeholders(kind))
    for name in sorted(names):
        if name not in i18n.ALLOWED_PLACEHOLDERS:
            raise Invalid(
                where, f"placeholder '{{{name}}}' is not allowed (language {language}); allowed: {allowed}"
            )
        if name in APPOINTMENT_PLACEHOLDERS and kind != CampaignKind.REMINDER:
            raise Invalid(
                where,
                f"placeholder '{{{name}}}' needs an appointment (language {language}); allowed: {allowed}",
            )


def _check_content(*, clinic: Clinic, kind: CampaignKind, step: StepIn, where: str) -> str | None:
    """The template key a step uses (None for clinic-written text), after checking its text."""
    if step.bodies:
        for language, text in step.bodies.items():
            if language not in i18n.SUPPORTED:
                raise Invalid(f"{where}.bodies", f"'{language}' is not one of {', '.join(i18n.SUPPORTED)}")
            check_text(kind=kind, text=text, language=language, where=f"{where}.bodies.{language}")
        fallback = i18n.negotiate(None, clinic_default=clinic.default_language).language
        if fallback not in step.bodies:
            raise Invalid(f"{where}.bodies", f"needs text in the clinic's fallback language '{fallback}'")
        return None
    key = step.template or DEFAULT_TEMPLATE.get(kind)
    if key is None:
        raise Invalid(f"{where}.bodies", "a broadcast needs its own text (bodies) or a template")
    if key not in set(i18n.TemplateKey):
        raise Invalid(f"{where}.template", f"'{key}' is not a built-in template")
    check_text(kind=kind, text=i18n.template_text(key, "en"), language="en", where=f"{where}.template")
    return str(key)


def create_campaign(
    *,
    session: Session,
    clinic: Clinic,
    data: CampaignCreate,
    now: datetime,
    actor_key_id: uuid.UUID | None = None,
) -> Campaign:
    """Add a draft campaign after checking that every step can fire and every text is allowed."""
    if data.anchor_event is not None and data.kind != CampaignKind.CHECKIN:
        raise Invalid("anchor_event", "only a check-in campaign can be timed from patients' events")
    if data.anchor_event is not None and data.anchor_date is not None:
        raise Invalid("anchor_date", "a journey is timed from each patient's event, not one date")
    campaign = Campaign(
        clinic_id=clinic.id,
        name=data.name.strip(),
        kind=data.kind,
        fallback_policy=data.fallback_policy,
        anchor_date=data.anchor_date,
        anchor_event=None if data.anchor_event is None else data.anchor_event.value,
        no_reply_after=data.no_reply_after,
        restart_on_readmission=data.restart_on_readmission,
        created_at=now,
    )
    steps = _checked_steps(
        session=session, clinic=clinic, campaign=campaign, data=data, now=now, actor_key_id=actor_key_id
    )
    session.add(campaign)
    session.flush()
    session.add_all(steps)
    session.flush()
    return campaign


def _checked_steps(
    *,
    session: Session,
    clinic: Clinic,
    campaign: Campaign,
    data: CampaignCreate,
    now: datetime,
    actor_key_id: uuid.UUID | None,
) -> list[CampaignStep]:
    steps = []
    for position, step in enumerate(data.steps, start=1):
        where = f"steps.{position - 1}"
        journey = data.anchor_event is not None
        _check_timing(kind=data.kind, step=step, where=where, now=now, journey=journey)
        template = _check_content(clinic=clinic, kind=data.kind, step=step, where=where)
        for language, text in (step.bodies or {}).items():
            phi.check_text(
                session=session,
                clinic_id=clinic.id,
                text=text,
                language=language,
                field=f"{where}.bodies.{language}",
                override_reason=data.phi_override_reason,
                key_id=actor_key_id,
            )
        fields = step.model_dump(exclude={"template", "bodies"})
        steps.append(CampaignStep(campaign_id=campaign.id, position=position, template=template, **fields))
        steps[-1].bodies = dict(step.bodies or {})
    return steps


def replace_draft(
    *,
    session: Session,
    clinic: Clinic,
    campaign_id: uuid.UUID,
    data: CampaignCreate,
    now: datetime,
    actor_key_id: uuid.UUID | None = None,
) -> Campaign:
    """Change a draft campaign (name, kind, policy, every step) after the same checks as creating one."""
    campaign = get_campaign(session=session, clinic_id=clinic.id, campaign_id=campaign_id)
    if campaign.status != CampaignStatus.DRAFT:
        raise Conflict(f"only a draft campaign can be changed (this one is {campaign.status})")
    steps = _checked_steps(
        session=session, clinic=clinic, campaign=campaign, data=data, now=now, actor_key_id=actor_key_id
    )
    campaign.name, campaign.kind = data.name.strip(), data.kind
    campaign.fallback_policy, campaign.anchor_date = data.fallback_policy, data.anchor_date
    session.add(campaign)
    for old in get_steps(session=session, campaign_id=campaign.id):
        session.delete(old)
    session.flush()  # the old positions are free before the new steps take them
    session.add_all(steps)
    session.flush()
    return campaign


def get_campaign(*, session: Session, clinic_id: uuid.UUID, campaign_id: uuid.UUID) -> Campaign:
    """One of the clinic's campaigns."""
    return get_owned(session, Campaign, campaign_id, clinic_id=clinic_id, name="campaign")


def get_steps(*, session: Session, campaign_id: uuid.UUID) -> list[CampaignStep]:
    """A campaign's steps in order."""
    query = select(CampaignStep).where(CampaignStep.campaign_id == campaign_id)
    return list(session.exec(query.order_by(col(CampaignStep.position))))


def list_campaigns(*, session: Session, clinic_id: uuid.UUID, limit: int, offset: int) -> list[Campaign]:
    """The clinic's campaigns, newest first."""
    query = select(Campaign).where(Campaign.clinic_id == clinic_id)
    return list(session.exec(query.order_by(col(Campaign.created_at).desc()).offset(offset).limit(limit)))


def _move(
    *, session: Session, campaign: Campaign, src: MessageStatus, dst: MessageStatus, now: datetime
) -> int:
    """Move a campaign's rows between scheduled and paused-held; return how many moved."""
    reason = PAUSED if dst == MessageStatus.HELD else None
    query = update(OutboundMessage).where(
        col(OutboundMessage.campaign_id) == campaign.id, col(OutboundMessage.status) == src
    )
    if src == MessageStatus.HELD:  # rows held for a missing language stay held
        query = query.where(col(OutboundMessage.error_reason) == PAUSED)
    result = session.execute(query.values(status=dst, error_reason=reason, updated_at=now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def pause(*, session: Session, clinic_id: uuid.UUID, campaign_id: uuid.UUID, now: datetime) -> int:
    """Hold every scheduled row of a launched campaign; return how many were held."""
    campaign = get_campaign(session=session, clinic_id=clinic_id, campaign_id=campaign_id)
    if campaign.status != CampaignStatus.LAUNCHED:
        raise Conflict(f"only a launched campaign can be paused (this one is {campaign.status})")
    campaign.status = CampaignStatus.PAUSED
    session.add(campaign)
    return _move(
        session=session, campaign=campaign, src=MessageStatus.SCHEDULED, dst=MessageStatus.HELD, now=now
    )


def resume(*, session: Session, clinic_id: uuid.UUID, campaign_id: uuid.UUID, now: datetime) -> int:
    """Release a paused campaign's rows; those whose time passed meanwhile are skipped, not sent late."""
    campaign = get_campaign(session=session, clinic_id=clinic_id, campaign_id=campaign_id)
    if campaign.status != CampaignStatus.PAUSED:
        raise Conflict(f"only a paused campaign can be resumed (this one is {campaign.status})")
    campaign.status = CampaignStatus.LAUNCHED
    session.add(campaign)
    session.execute(
        update(OutboundMessage)
        .where(
            col(OutboundMessage.campaign_id) == campaign.id,
            col(OutboundMessage.status) == MessageStatus.HELD,
            col(OutboundMessage.error_reason) == PAUSED,
            col(OutboundMessage.send_at) < now,
        )
        .values(status=MessageStatus.SKIPPED, error_reason="past: the send time passed while paused")
    )
    return _move(
        session=session, campaign=campaign, src=MessageStatus.HELD, dst=MessageStatus.SCHEDULED, now=now
    )
