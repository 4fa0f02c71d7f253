"""Acting on a gap: the follow-up list of one group of a campaign, and what the clinic does with it.

The report itself never lists a patient. A follow-up list does, on request: the patients of one group
(by the report's own grouping) who were not reached (`not_delivered`: no text delivered or answered) or,
for reminders, reached but not confirmed (`not_confirmed`). The clinic can enroll them into a draft
campaign or put them in the coordinator queue as call tasks (a note on each patient's thread, opened or
reopened). Every list shown and every action is written to `report_follow_up`, with the patients' ids.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import and_, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from outreach.campaigns.enrollment import enroll
from outreach.campaigns.models import Campaign, CampaignKind, Enrollment
from outreach.campaigns.schemas import EnrollIn
from outreach.config import Settings
from outreach.errors import Invalid
from outreach.inbox.models import InboundKind, InboxAudit, Thread, ThreadEvent, ThreadStatus
from outreach.patients.models import Patient
from outreach.reports import figures
from outreach.reports.groups import (
    NO_TEXT,
    PER_TEXT,
    as_text,
    clinic_languages,
    clinic_of,
    key_expression,
    label,
)
from outreach.reports.models import ReportFollowUp
from outreach.reports.queries import Scope, per_patient
from outreach.tenancy import get_owned

Stage = Literal["not_delivered", "not_confirmed"]
STAGE_NAMES = {"not_delivered": "not reached", "not_confirmed": "reached, not confirmed"}


class FollowUpIn(BaseModel):
    """Which group's patients, and what to do with them."""

    campaign_id: uuid.UUID
    by: str = Field(max_length=16)
    group: str = Field(min_length=1, max_length=48)
    stage: Stage
    action: Literal["call_tasks", "enroll"]
    target_campaign_id: uuid.UUID | None = None


class ListedPatient(BaseModel):
    """A patient on a follow-up list."""

    id: uuid.UUID
    external_id: str
    given_name: str
    family_name: str
    language: str


class FollowUpOut(BaseModel):
    """What a follow-up did."""

    action: str
    group_label: str
    stage: Stage
    patients: int
    enrolled: int | None = None
    call_tasks: int | None = None
    listed: list[ListedPatient] = Field(default_factory=list)


def _campaign(session: Session, clinic_id: uuid.UUID, campaign_id: uuid.UUID) -> Campaign:
    return get_owned(session, Campaign, campaign_id, clinic_id=clinic_id, name="campaign")


def patient_ids(
    *, session: Session, settings: Settings, clinic_id: uuid.UUID, campaign_id: uuid.UUID, by: str,
    group: str, stage: Stage, today: date,
) -> list[uuid.UUID]:  # fmt: skip
    """The campaign's patients in this group at this stage, in a stable order."""
    if by not in figures.DIMENSIONS:
        raise Invalid("by", f"'{by}' must be one of {', '.join(figures.DIMENSIONS)}")
    campaign = _campaign(session, clinic_id, campaign_id)
    if stage == "not_confirmed" and campaign.kind != CampaignKind.REMINDER:
        raise Invalid("stage", "not_confirmed applies to reminder campaigns only")
    dialect = session.get_bind().dialect.name
    languages = clinic_languages(session=session, clinic=clinic_of(session, clinic_id))
    scope = Scope(clinic_id=clinic_id, campaign_id=campaign_id, reply_days=settings.report_reply_days)
    t = per_patient(scope, by=by, languages=languages, today=today, dialect=dialect)
    key = (
        func.coalesce(t.c.text_key, NO_TEXT)
        if by in PER_TEXT
        else as_text(key_expression(by, languages=languages, today=today))
    )
    delivered = func.coalesce(t.c.delivered, 0) == 1
    wanted = ~delivered if stage == "not_delivered" else and_(delivered, func.coalesce(t.c.confirmed, 0) == 0)
    query = (
        sa_select(col(Enrollment.patient_id))
        .distinct()
        .join(Patient, col(Patient.id) == col(Enrollment.patient_id))
        .outerjoin(t, t.c.patient_id == col(Enrollment.patient_id))
        .where(col(Enrollment.campaign_id) == campaign_id, col(Patient.clinic_id) == clinic_id)
        .where(key == group, wanted)
        .order_by(col(Enrollment.patient_id))
    )
    return [row[0] for row in session.connection().execute(query)]


def _audit(session: Session, *, clinic_id: uuid.UUID, key_id: uuid.UUID, data: FollowUpIn, action: str,
           ids: list[uuid.UUID], now: datetime) -> None:  # fmt: skip
    session.add(
        ReportFollowUp(
            clinic_id=clinic_id,
            key_id=key_id,
            action=action,
            campaign_id=data.campaign_id,
            by=data.by,
            group_key=data.group,
            stage=data.stage,
            target_campaign_id=data.target_campaign_id,
            patients=len(ids),
            patient_ids=[str(i) for i in ids],
            at=now,
        )
    )
    session.flush()


def _call_task(session: Session, patient: Patient, key_id: uuid.UUID, note: str, now: datetime) -> None:
    """A note on the patient's thread, opened (or reopened) so the queue shows it."""
    party = f"p:{patient.id}"
    thread = session.exec(
        select(Thread).where(col(Thread.clinic_id) == patient.clinic_id, col(Thread.party) == party)
    ).first()
    if thread is None:
        thread = Thread(
            clinic_id=patient.clinic_id, patient_id=patient.id, party=party, from_phone=patient.phone,
            language=patient.language, kind=InboundKind.MESSAGE, waiting_since=now, opened_at=now,
            last_message_at=now,
        )  # fmt: skip
    elif thread.status == ThreadStatus.RESOLVED:
        thread.status, thread.awaiting_reply, thread.waiting_since, thread.opened_at = (
            ThreadStatus.OPEN, True, now, now,
        )  # fmt: skip
        thread.first_response_at = thread.resolved_at = thread.outcome = None
        thread.claimed_by = thread.claimed_at = None
    session.add(thread)
    session.flush()
    session.add(ThreadEvent(clinic_id=patient.clinic_id, thread_id=thread.id, kind="note", key_id=key_id,
                            body=note, at=now))  # fmt: skip
    session.add(
        InboxAudit(clinic_id=patient.clinic_id, thread_id=thread.id, key_id=key_id, action="note", at=now)
    )


def follow_up(
    *, session: Session, settings: Settings, clinic_id: uuid.UUID, key_id: uuid.UUID, data: FollowUpIn,
    now: datetime,
) -> FollowUpOut:  # fmt: skip
    """Enroll the group's patients at this stage into a draft campaign, or make them call tasks."""
    ids = patient_ids(session=session, settings=settings, clinic_id=clinic_id, campaign_id=data.campaign_id,
                      by=data.by, group=data.group, stage=data.stage, today=now.date())  # fmt: skip
    shown = label(data.by, data.group)
    out = FollowUpOut(action=data.action, group_label=shown, stage=data.stage, patients=len(ids))
    if data.action == "enroll":
        if data.target_campaign_id is None:
            raise Invalid("target_campaign_id", "is needed to enroll the follow-up list")
        report = enroll(session=session, clinic_id=clinic_id, campaign_id=data.target_campaign_id,
                        data=EnrollIn(patient_ids=ids), now=now) if ids else None  # fmt: skip
        out.enrolled = report.enrolled if report else 0
    else:
        source = _campaign(session, clinic_id, data.campaign_id).name
        note = f"Call task from the outcome report: {STAGE_NAMES[data.stage]} by “{source}” ({shown})."
        for patient in session.exec(select(Patient).where(col(Patient.id).in_(ids))):
            _call_task(session, patient, key_id, note, now)
        out.call_tasks = len(ids)
    _audit(session, clinic_id=clinic_id, key_id=key_id, data=data, action=data.action, ids=ids, now=now)
    return out


def listed(
    *, session: Session, settings: Settings, clinic_id: uuid.UUID, key_id: uuid.UUID, data: FollowUpIn,
    now: datetime,
) -> FollowUpOut:  # fmt: skip
    """The follow-up list itself (names and MRNs), audited as a view."""
    ids = patient_ids(session=session, settings=settings, clinic_id=clinic_id, campaign_id=data.campaign_id,
                      by=data.by, group=data.group, stage=data.stage, today=now.date())  # fmt: skip
    people = session.exec(select(Patient).where(col(Patient.id).in_(ids)).order_by(col(Patient.external_id)))
    rows = [ListedPatient.model_validate(p, from_attributes=True) for p in people]
    _audit(session, clinic_id=clinic_id, key_id=key_id, data=data, action="list", ids=ids, now=now)
    return FollowUpOut(action="list", group_label=label(data.by, data.group), stage=data.stage,
                       patients=len(ids), listed=rows)  # fmt: skip
