"""Keeping campaign texts true to the schedule: a moved visit moves its unsent reminders, a cancelled one
cancels them, and a visit booked after launch gets the reminders of the campaigns its patient is in.

Only the windows already written to the outbox are touched here (under the launch record's lock, so a
window being written never interleaves); later windows plan each visit as it is when they are written.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from outreach.campaigns.enrollment import exclusion_reason
from outreach.campaigns.materialize import horizon, lock_launch
from outreach.campaigns.models import (
    Campaign,
    CampaignKind,
    CampaignLaunch,
    CampaignStatus,
    CampaignStep,
    Enrollment,
)
from outreach.campaigns.planning import Planner, Recipient
from outreach.campaigns.service import PAUSED
from outreach.clinics.models import Clinic
from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.patients.models import Appointment, Patient

# Rows no worker has taken yet; held rows (paused campaign, missing language) follow the visit too.
_PENDING = (MessageStatus.SCHEDULED, MessageStatus.HELD)
MOVED_LATER = "appointment moved: planned again when its window is written"


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


def _campaigns(session: Session, appointment: Appointment) -> list[Campaign]:
    """The launched (or paused) reminder campaigns the visit's patient is enrolled in."""
    return list(
        session.exec(
            select(Campaign)
            .where(
                Campaign.clinic_id == appointment.clinic_id,
                Campaign.kind == CampaignKind.REMINDER,
                col(Campaign.status).in_([CampaignStatus.LAUNCHED, CampaignStatus.PAUSED]),
                col(Campaign.id).in_(
                    select(Enrollment.campaign_id).where(Enrollment.patient_id == appointment.patient_id)
                ),
            )
            .order_by(col(Campaign.id))  # launch records are locked in this order: no deadlock
        ).all()
    )


def _planner(
    session: Session, clinic: Clinic, campaign: Campaign, launch: CampaignLaunch, now: datetime
) -> Planner:
    steps = session.exec(select(CampaignStep).where(CampaignStep.campaign_id == campaign.id)).all()
    return Planner(clinic=clinic, campaign=campaign, steps=steps, now=now, launched_at=launch.launched_at)


def _fresh(planner: Planner, step: CampaignStep, who: Recipient, until: datetime) -> dict[str, Any] | None:
    """The row a step gives this visit if its target is already written (before `until`), else None."""
    rows = list(planner.rows_between(who, None, until)) if step in planner.steps else []
    row = next((r for r in rows if r["step_id"] == step.id), None)
    paused = planner.campaign.status == CampaignStatus.PAUSED
    if row is not None and paused and row["status"] == MessageStatus.SCHEDULED.value:
        row.update(status=MessageStatus.HELD.value, error_reason=PAUSED)
    return row


def _apply(message: OutboundMessage, fresh: dict[str, Any], now: datetime) -> None:
    """Plan a pending row again from its step's fresh row (a paused campaign's row stays held)."""
    paused = message.status == MessageStatus.HELD and message.error_reason == PAUSED
    keep_paused = paused and fresh["status"] == MessageStatus.SCHEDULED.value
    message.send_at, message.body, message.language = fresh["send_at"], fresh["body"], fresh["language"]
    message.segments, message.encoding = fresh["segments"], fresh["encoding"]
    message.status = MessageStatus.HELD if keep_paused else MessageStatus(fresh["status"])
    message.error_reason = PAUSED if keep_paused else fresh["error_reason"]
    message.updated_at = now


def replan_appointment(*, session: Session, appointment: Appointment, now: datetime) -> int:
    """Plan a moved visit's reminders again (time and text); return how many rows changed or were added.

    Reminders whose new moment is already in a written window are planned here: a pending row moves, a
    missing one is added. A pending row whose new moment is beyond the written windows is cancelled:
    the window that reaches it writes it then. A reminder already sent is not sent again.
    """
    patient = session.get_one(Patient, appointment.patient_id)
    clinic = session.get_one(Clinic, appointment.clinic_id)
    who = _recipient(patient, appointment)
    textable = exclusion_reason(str(patient.consent), patient.undeliverable_reason) is None
    changed = 0
    for campaign in _campaigns(session, appointment):
        launch = lock_launch(session, campaign.id)
        until = None if launch is None else horizon(launch)
        if launch is None or until is None:
            continue  # nothing written yet: the first window plans the visit as it is then
        planner = _planner(session, clinic, campaign, launch, now)
        existing = session.exec(
            select(OutboundMessage).where(
                OutboundMessage.appointment_id == appointment.id,
                OutboundMessage.campaign_id == campaign.id,
                col(OutboundMessage.status) != MessageStatus.CANCELLED,
            )
        ).all()
        for step in planner.steps:
            rows = [m for m in existing if m.step_id == step.id]
            pending = next((m for m in rows if m.status in _PENDING), None)
            fresh = _fresh(planner, step, who, until)
            if pending is not None:
                if fresh is None:
                    pending.status, pending.error_reason = MessageStatus.CANCELLED, MOVED_LATER
                    pending.updated_at = now
                else:
                    _apply(pending, fresh, now)
                session.add(pending)
                changed += 1
            elif fresh is not None and not rows and textable:
                session.add(OutboundMessage(**fresh))
                changed += 1
    session.flush()
    return changed


def plan_new_appointment(*, session: Session, appointment: Appointment, now: datetime) -> int:
    """Give a visit booked after launch the reminders already due to be written; later windows do the rest."""
    patient = session.get_one(Patient, appointment.patient_id)
    if exclusion_reason(str(patient.consent), patient.undeliverable_reason) is not None:
        return 0
    who = _recipient(patient, appointment)
    clinic = session.get_one(Clinic, appointment.clinic_id)
    rows = []
    for campaign in _campaigns(session, appointment):
        launch = lock_launch(session, campaign.id)
        until = None if launch is None else horizon(launch)
        if launch is None or until is None:
            continue
        planner = _planner(session, clinic, campaign, launch, now)
        for step in planner.steps:
            fresh = _fresh(planner, step, who, until)
            if fresh is not None:
                rows.append(OutboundMessage(**fresh))
    session.add_all(rows)
    session.flush()
    return len(rows)
