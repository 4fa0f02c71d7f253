"""Keeping campaign texts true to the schedule: a moved visit moves its unsent reminders, a cancelled one
cancels them, and a visit booked after launch gets the reminders of the campaigns its patient is in."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from outreach.campaigns.enrollment import exclusion_reason
from outreach.campaigns.models import Campaign, CampaignKind, CampaignStatus, CampaignStep, Enrollment
from outreach.campaigns.planning import Planner, Recipient
from outreach.campaigns.service import PAUSED
from outreach.clinics.models import Clinic
from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.patients.models import Appointment, Patient

# Rows no worker has taken yet; held rows (paused campaign, missing language) follow the visit too.
_PENDING = (MessageStatus.SCHEDULED, MessageStatus.HELD)


def _recipient(patient: Patient, appointment: Appointment) -> Recipient:
    return Recipient(
        patient.id, patient.given_name, patient.language, patient.timezone,
        appointment.id, appointment.starts_at, appointment.location,
    )  # fmt: skip


def cancel_for_appointment(*, session: Session, appointment_id: uuid.UUID, now: datetime) -> int:
    """Cancel every reminder for a visit not yet taken by a worker; return how many."""
    result = session.execute(
        update(OutboundMessage)
        .where(
            col(OutboundMessage.appointment_id) == appointment_id,
            col(OutboundMessage.status).in_(_PENDING),
        )
        .values(status=MessageStatus.CANCELLED, error_reason="appointment cancelled", updated_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def replan_appointment(*, session: Session, appointment: Appointment, now: datetime) -> int:
    """Plan a moved visit's pending reminders again (time and text); return how many rows changed."""
    pending = session.exec(
        select(OutboundMessage).where(
            OutboundMessage.appointment_id == appointment.id, col(OutboundMessage.status).in_(_PENDING)
        )
    ).all()
    if not pending:
        return 0
    patient = session.get_one(Patient, appointment.patient_id)
    clinic = session.get_one(Clinic, appointment.clinic_id)
    who = _recipient(patient, appointment)
    planners: dict[uuid.UUID, Planner] = {}
    for message in pending:
        if message.campaign_id is None or message.step_id is None:
            continue
        if message.campaign_id not in planners:
            campaign = session.get_one(Campaign, message.campaign_id)
            steps = session.exec(select(CampaignStep).where(CampaignStep.campaign_id == campaign.id)).all()
            planners[campaign.id] = Planner(clinic=clinic, campaign=campaign, steps=steps, now=now)
        planner = planners[message.campaign_id]
        step = next(s for s in planner.steps if s.id == message.step_id)
        fresh = next(planner.rows_for_step(step, who))
        paused = message.status == MessageStatus.HELD and message.error_reason == PAUSED
        keep_paused = paused and fresh["status"] == MessageStatus.SCHEDULED.value
        message.send_at, message.body, message.language = fresh["send_at"], fresh["body"], fresh["language"]
        message.segments, message.encoding = fresh["segments"], fresh["encoding"]
        message.status = MessageStatus.HELD if keep_paused else MessageStatus(fresh["status"])
        message.error_reason = PAUSED if keep_paused else fresh["error_reason"]
        message.updated_at = now
        session.add(message)
    session.flush()
    return len(pending)


def plan_new_appointment(*, session: Session, appointment: Appointment, now: datetime) -> int:
    """Give a visit booked after launch the reminders of every launched campaign its patient is in."""
    patient = session.get_one(Patient, appointment.patient_id)
    if exclusion_reason(str(patient.consent), patient.undeliverable_reason) is not None:
        return 0
    campaigns = session.exec(
        select(Campaign).where(
            Campaign.clinic_id == appointment.clinic_id,
            Campaign.kind == CampaignKind.REMINDER,
            col(Campaign.status).in_([CampaignStatus.LAUNCHED, CampaignStatus.PAUSED]),
            col(Campaign.id).in_(select(Enrollment.campaign_id).where(Enrollment.patient_id == patient.id)),
        )
    ).all()
    who = _recipient(patient, appointment)
    clinic = session.get_one(Clinic, appointment.clinic_id)
    rows = []
    for campaign in campaigns:
        steps = session.exec(select(CampaignStep).where(CampaignStep.campaign_id == campaign.id)).all()
        for row in Planner(clinic=clinic, campaign=campaign, steps=steps, now=now).rows(who):
            if campaign.status == CampaignStatus.PAUSED and row["status"] == MessageStatus.SCHEDULED.value:
                row.update(status=MessageStatus.HELD.value, error_reason=PAUSED)
            rows.append(OutboundMessage(**row))
    session.add_all(rows)
    session.flush()
    return len(rows)
