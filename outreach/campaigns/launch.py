"""Launching a campaign: every enrolled patient's rows planned and written to the outbox in one transaction.

Patients (and, for reminders, their upcoming visits) come from one query read in chunks, are planned in
memory with cached send times and texts, and are written with PostgreSQL COPY (executemany on SQLite).
The whole launch runs in the caller's transaction, so a launch that fails part-way leaves no rows behind.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, func, select

from outreach.campaigns.enrollment import can_text, exclusion_reason, has_upcoming
from outreach.campaigns.models import Campaign, CampaignKind, CampaignStatus, Enrollment
from outreach.campaigns.planning import Planner, Recipient
from outreach.campaigns.schemas import LaunchReport
from outreach.campaigns.service import get_campaign, get_steps
from outreach.clinics.models import Clinic
from outreach.errors import Conflict
from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.patients.models import Appointment, AppointmentStatus, Patient

log = logging.getLogger(__name__)

CHUNK = 10_000
COLUMNS = (
    "id", "clinic_id", "patient_id", "kind", "campaign_id", "step_id", "appointment_id", "send_at", "status",
    "language", "body", "segments", "encoding", "attempts", "error_reason", "created_at", "updated_at",
)  # fmt: skip
COPY_SQL = f"COPY outbound_message ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)"
# Binary COPY: uuids and timestamps travel as bytes, with no text formatting on our side or parsing on theirs.
COPY_TYPES = (
    "uuid", "uuid", "uuid", "varchar", "uuid", "uuid", "uuid", "timestamptz", "varchar",
    "varchar", "text", "int4", "varchar", "int4", "varchar", "timestamptz", "timestamptz",
)  # fmt: skip


def excluded_counts(*, session: Session, campaign: Campaign, now: datetime) -> dict[str, int]:
    """Enrolled patients who cannot get texts now (consent changed, no visit ahead), by reason."""
    enrolled = select(Enrollment.patient_id).where(Enrollment.campaign_id == campaign.id)
    rows = session.exec(
        select(Patient.consent, Patient.undeliverable_reason, func.count())
        .where(col(Patient.id).in_(enrolled))
        .group_by(col(Patient.consent), col(Patient.undeliverable_reason))
    ).all()
    counts: Counter[str] = Counter()
    for consent, undeliverable, count in rows:
        reason = exclusion_reason(str(consent), undeliverable)
        if reason is not None:
            counts[reason] += count
    if campaign.kind == CampaignKind.REMINDER:
        no_visit = session.exec(
            select(func.count()).where(col(Patient.id).in_(enrolled), ~has_upcoming(now))
        ).one()
        if no_visit:
            counts["no_upcoming_appointment"] = no_visit
    return dict(counts)


def recipients(
    *, session: Session, campaign: Campaign, now: datetime, chunk: int = CHUNK
) -> Iterator[list[Recipient]]:
    """Enrolled patients who can be texted, a chunk at a time (one entry per upcoming visit for reminders).

    One query, read in chunks as planning needs them (a server-side cursor on PostgreSQL), not a query
    per chunk with the chunk's ids spelled out. It runs on the session's connection as plain rows: the
    outbox COPY of one chunk goes over the same connection between two fetches.
    """
    enrolled = select(Enrollment.patient_id).where(Enrollment.campaign_id == campaign.id)
    fields = [col(Patient.id), col(Patient.given_name), col(Patient.language), col(Patient.timezone)]
    query = sa_select(*fields).where(col(Patient.id).in_(enrolled), can_text())
    if campaign.kind == CampaignKind.REMINDER:
        query = (
            query.add_columns(col(Appointment.id), col(Appointment.starts_at), col(Appointment.location))
            .join(Appointment, col(Appointment.patient_id) == col(Patient.id))
            .where(
                col(Appointment.starts_at) > now,
                col(Appointment.status) != AppointmentStatus.CANCELLED,
            )
            .order_by(col(Patient.id), col(Appointment.starts_at))
        )
    else:
        query = query.order_by(col(Patient.id))
    result = session.connection().execute(query, execution_options={"yield_per": chunk})
    for part in result.partitions():
        yield [Recipient(*row) for row in part]


def _outcome(row: dict[str, Any]) -> str:
    """scheduled, held, or skipped:<reason code>."""
    if row["status"] == MessageStatus.SKIPPED.value:
        return f"skipped:{row['error_reason'].split(':')[0]}"
    return str(row["status"])


def write_rows(conn: Connection, rows: Iterable[dict[str, Any]]) -> Counter[str]:
    """Append outbox rows in bulk (COPY on PostgreSQL, executemany elsewhere); count them by outcome.

    Rows are streamed into COPY as they are planned: libpq sends each filled buffer, so PostgreSQL stores
    one part of a chunk while Python plans the next. (psycopg's threaded writer was slower here: GIL.)
    """
    tally: Counter[str] = Counter()
    if conn.dialect.name != "postgresql":
        batch = list(rows)
        tally.update(_outcome(row) for row in batch)
        if batch:
            conn.execute(insert(OutboundMessage), batch)
        return tally
    raw = conn.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(COPY_SQL) as copy:  # type: ignore[union-attr]
        copy.set_types(COPY_TYPES)
        for row in rows:
            tally[_outcome(row)] += 1
            copy.write_row([row[name] for name in COLUMNS])
    return tally


def launch(
    *, session: Session, clinic_id: uuid.UUID, campaign_id: uuid.UUID, now: datetime, chunk: int = CHUNK
) -> LaunchReport:
    """Write one outbox row per patient per send of every step; all or nothing."""
    campaign = get_campaign(session=session, clinic_id=clinic_id, campaign_id=campaign_id)
    # A second launch of the same campaign waits here, then finds it launched.
    session.refresh(campaign, with_for_update=True)
    if campaign.status != CampaignStatus.DRAFT:
        raise Conflict(f"the campaign was already launched (it is {campaign.status})")
    clinic = session.get_one(Clinic, clinic_id)
    planner = Planner(
        clinic=clinic, campaign=campaign, steps=get_steps(session=session, campaign_id=campaign.id), now=now
    )
    conn = session.connection()
    statuses: Counter[str] = Counter()
    for batch in recipients(session=session, campaign=campaign, now=now, chunk=chunk):
        statuses.update(write_rows(conn, (row for who in batch for row in planner.rows(who))))
    campaign.status, campaign.launched_at = CampaignStatus.LAUNCHED, now
    session.add(campaign)
    session.flush()
    skipped = {k.split(":", 1)[1]: v for k, v in statuses.items() if k.startswith("skipped:")}
    log.info("campaign %s launched: %s", campaign.id, dict(statuses))
    return LaunchReport(
        scheduled=statuses[MessageStatus.SCHEDULED.value],
        skipped=skipped,
        held=statuses[MessageStatus.HELD.value],
        excluded=excluded_counts(session=session, campaign=campaign, now=now),
    )
