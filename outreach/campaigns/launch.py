"""Launching a campaign: a durable launch record written at once; the texts follow from a worker.

The request only locks the draft, marks it launched and records the launch, in the caller's transaction
(all or nothing). `materialize.py` writes the texts a window ahead of their time, with the helpers here:
the outbox COPY (executemany on SQLite) and the recipients and exclusions the dry run shares.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import nullcontext
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, func, select

from outreach.campaigns.enrollment import can_text, exclusion_reason, has_upcoming
from outreach.campaigns.models import Campaign, CampaignKind, CampaignLaunch, CampaignStatus, Enrollment
from outreach.campaigns.planning import Recipient
from outreach.campaigns.schemas import LaunchReport
from outreach.campaigns.service import get_campaign
from outreach.errors import Conflict, NotFound
from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.patients.models import Appointment, AppointmentStatus, Patient

log = logging.getLogger(__name__)

CHUNK = 10_000
COLUMNS = (
    "id", "clinic_id", "patient_id", "kind", "campaign_id", "step_id", "appointment_id", "send_at", "status",
    "language", "body", "segments", "encoding", "attempts", "error_reason", "created_at", "updated_at",
)  # fmt: skip


def copy_statement(columns: Sequence[str]) -> str:
    """The binary COPY into the outbox for these columns."""
    return f"COPY outbound_message ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"


COPY_SQL = copy_statement(COLUMNS)
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
    conn = session.connection()
    raw = conn.connection.driver_connection if conn.dialect.name == "postgresql" else None
    # A read-only request runs in autocommit; a server-side cursor needs a transaction of its own.
    scope = raw.transaction() if raw is not None and raw.autocommit else nullcontext()
    with scope:
        result = conn.execute(query, execution_options={"yield_per": chunk})
        for part in result.partitions():
            yield [Recipient(*row) for row in part]


def _outcome(row: dict[str, Any]) -> str:
    """scheduled, held, or skipped:<reason code>."""
    if row["status"] == MessageStatus.SKIPPED.value:
        return f"skipped:{row['error_reason'].split(':')[0]}"
    return str(row["status"])


def write_rows(
    conn: Connection,
    rows: Iterable[dict[str, Any]],
    *,
    columns: Sequence[str] = COLUMNS,
    types: Sequence[str] = COPY_TYPES,
) -> Counter[str]:
    """Append outbox rows in bulk (COPY on PostgreSQL, executemany elsewhere); count them by outcome.

    `columns` and their binary COPY `types` name what each row carries (a journey's rows add theirs).

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
    copy_sql = COPY_SQL if columns is COLUMNS else copy_statement(columns)
    with raw.cursor() as cursor, cursor.copy(copy_sql) as copy:  # type: ignore[union-attr]
        copy.set_types(types)
        for row in rows:
            tally[_outcome(row)] += 1
            copy.write_row([row[name] for name in columns])
    return tally


def launch(
    *, session: Session, clinic_id: uuid.UUID, campaign_id: uuid.UUID, now: datetime
) -> CampaignLaunch:
    """Launch a draft campaign: record it, all or nothing; a worker writes its texts (`materialize.py`)."""
    campaign = get_campaign(session=session, clinic_id=clinic_id, campaign_id=campaign_id)
    # A second launch of the same campaign waits here, then finds it launched.
    session.refresh(campaign, with_for_update=True)
    if campaign.status != CampaignStatus.DRAFT:
        raise Conflict(f"the campaign was already launched (it is {campaign.status})")
    campaign.status, campaign.launched_at = CampaignStatus.LAUNCHED, now
    record = CampaignLaunch(campaign_id=campaign.id, clinic_id=clinic_id, launched_at=now, updated_at=now)
    session.add_all([campaign, record])
    session.flush()
    log.info("campaign %s launched", campaign.id)
    return record


def get_launch(*, session: Session, clinic_id: uuid.UUID, campaign_id: uuid.UUID) -> CampaignLaunch:
    """A campaign's launch record and its progress (NotFound before launch)."""
    campaign = get_campaign(session=session, clinic_id=clinic_id, campaign_id=campaign_id)
    record = session.exec(select(CampaignLaunch).where(CampaignLaunch.campaign_id == campaign.id)).first()
    if record is None:
        raise NotFound("launch")
    return record


def report(record: CampaignLaunch) -> LaunchReport:
    """What a launch has written so far, with its progress."""
    return LaunchReport(
        status=str(record.status),
        launched_at=record.launched_at,
        written_until=record.materialized_until,
        patients_planned=record.patients_planned,
        rows_written=record.rows_written,
        scheduled=record.scheduled,
        skipped=dict(record.skipped),
        held=record.held,
        excluded=dict(record.excluded),
    )
