"""The clinic's texts, filtered the way an admin asks ("failed reminders last week"), with each reason in
words, for the messages page and its CSV export."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from outreach.campaigns.models import Campaign
from outreach.messaging.models import CAMPAIGN_PAUSED, MessageStatus, OutboundMessage
from outreach.patients.models import Patient

KINDS = ("campaign", "one_off", "reply")


@dataclass(frozen=True, slots=True)
class MessageFilter:
    """What to show: any of status, kind, campaign and a range of days (in the clinic's zone)."""

    status: MessageStatus | None = None
    kind: str | None = None
    campaign_id: uuid.UUID | None = None
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True, slots=True)
class ListedMessage:
    """One text as the page and the export show it."""

    id: uuid.UUID
    at: datetime
    patient_id: uuid.UUID
    patient_mrn: str
    patient_name: str
    kind: str
    campaign: str | None
    language: str
    status: str
    segments: int
    reason: str | None
    body: str


def reason_in_words(reason: str | None) -> str | None:
    """A stored reason as a person reads it (some are codes followed by words)."""
    if not reason:
        return None
    if reason == CAMPAIGN_PAUSED:
        return "held while the campaign is paused"
    code, _, words = reason.partition(": ")
    return words if words and code.replace("_", "").isalpha() and code.islower() else reason


def find_messages(
    *, session: Session, clinic_id: uuid.UUID, wanted: MessageFilter, tz: str, limit: int, offset: int
) -> list[ListedMessage]:
    """The clinic's texts matching the filter, newest first."""
    query = (
        select(OutboundMessage, Patient.external_id, Patient.given_name, Patient.family_name)
        .join(Patient, col(Patient.id) == OutboundMessage.patient_id)
        .where(OutboundMessage.clinic_id == clinic_id)
    )
    if wanted.status is not None:
        query = query.where(OutboundMessage.status == wanted.status)
    if wanted.kind is not None:
        query = query.where(OutboundMessage.kind == wanted.kind)
    if wanted.campaign_id is not None:
        query = query.where(OutboundMessage.campaign_id == wanted.campaign_id)
    zone = ZoneInfo(tz)
    if wanted.since is not None:
        query = query.where(col(OutboundMessage.send_at) >= datetime.combine(wanted.since, time(), zone))
    if wanted.until is not None:
        end = datetime.combine(wanted.until + timedelta(days=1), time(), zone)
        query = query.where(col(OutboundMessage.send_at) < end)
    query = query.order_by(col(OutboundMessage.send_at).desc(), col(OutboundMessage.id).desc())
    rows = session.exec(query.offset(offset).limit(limit)).all()
    ids = {m.campaign_id for m, *_ in rows if m.campaign_id}
    names = dict(session.exec(select(Campaign.id, Campaign.name).where(col(Campaign.id).in_(ids))).all())
    return [
        ListedMessage(
            id=m.id,
            at=m.sent_at or m.send_at,
            patient_id=m.patient_id,
            patient_mrn=mrn,
            patient_name=f"{given} {family}".strip(),
            kind=m.kind,
            campaign=names.get(m.campaign_id) if m.campaign_id else None,
            language=m.language,
            status=str(m.status),
            segments=m.segments,
            reason=reason_in_words(m.error_reason),
            body=m.body,
        )
        for m, mrn, given, family in rows
    ]


CSV_COLUMNS = (
    "time_utc",
    "patient_mrn",
    "kind",
    "campaign",
    "language",
    "status",
    "segments",
    "reason",
    "text",
)


def to_csv(messages: Iterable[ListedMessage]) -> str:
    """The listed texts as CSV (no phone numbers: the MRN identifies the patient)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for m in messages:
        writer.writerow(
            [m.at.isoformat(), m.patient_mrn, m.kind, m.campaign or "", m.language, m.status, m.segments,
             m.reason or "", m.body]
        )  # fmt: skip
    return out.getvalue()
