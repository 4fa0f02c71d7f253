"""launch windows

Launches get a durable record (`campaign_launch`) with the progress of the windows of texts written
ahead of their time. The outbox trades two indexes for partial ones that serve the claim and change
paths: due rows by send time (scheduled only), in-flight rows by last touch (queued, sending, unknown)
and a visit's reminders by step (rows with a visit only). Upcoming visits get an index by start, for the
window that reads the visits whose reminders fall in it.

Revision ID: 0008
Revises: 0009 (after the security migration on main; first written after 0005)
Create Date: 2026-12-03 06:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import outreach.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DUE = sa.text("status = 'scheduled'")
_IN_FLIGHT = sa.text("status IN ('queued', 'sending', 'unknown')")
_HAS_VISIT = sa.text("appointment_id IS NOT NULL")
_UPCOMING = sa.text("status <> 'cancelled'")


def upgrade() -> None:
    op.create_table(
        "campaign_launch",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("launched_at", outreach.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", outreach.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("materialized_until", outreach.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("window_until", outreach.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cursor", sa.Uuid(), nullable=True),
        sa.Column("cursor_at", outreach.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("patients_planned", sa.Integer(), nullable=False),
        sa.Column("rows_written", sa.Integer(), nullable=False),
        sa.Column("scheduled", sa.Integer(), nullable=False),
        sa.Column("held", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.JSON(), nullable=False),
        sa.Column("excluded", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"]),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id"),
    )
    with op.batch_alter_table("campaign_launch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaign_launch_clinic_id"), ["clinic_id"], unique=False)
    # Campaigns launched before this revision wrote every text at launch: their windows are complete.
    op.execute(
        "INSERT INTO campaign_launch (id, campaign_id, clinic_id, status, launched_at, updated_at, "
        "materialized_until, patients_planned, rows_written, scheduled, held, skipped, excluded) "
        "SELECT id, id, clinic_id, 'done', launched_at, launched_at, launched_at, 0, 0, 0, 0, '{}', '{}' "
        "FROM campaign WHERE launched_at IS NOT NULL"
    )
    with op.batch_alter_table("outbound_message", schema=None) as batch_op:
        batch_op.drop_index("ix_outbound_message_status_send_at")
        batch_op.drop_index("ix_outbound_message_appointment_id")
        batch_op.create_index(
            "ix_outbound_message_due", ["send_at"], postgresql_where=_DUE, sqlite_where=_DUE
        )
        batch_op.create_index(
            "ix_outbound_message_in_flight",
            ["status", "updated_at"],
            postgresql_where=_IN_FLIGHT,
            sqlite_where=_IN_FLIGHT,
        )
        batch_op.create_index(
            "ix_outbound_message_visit_step",
            ["appointment_id", "step_id"],
            postgresql_where=_HAS_VISIT,
            sqlite_where=_HAS_VISIT,
        )
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.create_index(
            "ix_appointment_upcoming", ["starts_at", "id"], postgresql_where=_UPCOMING, sqlite_where=_UPCOMING
        )


def downgrade() -> None:
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.drop_index("ix_appointment_upcoming", postgresql_where=_UPCOMING, sqlite_where=_UPCOMING)
    with op.batch_alter_table("outbound_message", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_outbound_message_visit_step", postgresql_where=_HAS_VISIT, sqlite_where=_HAS_VISIT
        )
        batch_op.drop_index(
            "ix_outbound_message_in_flight", postgresql_where=_IN_FLIGHT, sqlite_where=_IN_FLIGHT
        )
        batch_op.drop_index("ix_outbound_message_due", postgresql_where=_DUE, sqlite_where=_DUE)
        batch_op.create_index("ix_outbound_message_appointment_id", ["appointment_id"], unique=False)
        batch_op.create_index("ix_outbound_message_status_send_at", ["status", "send_at"], unique=False)
    with op.batch_alter_table("campaign_launch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_launch_clinic_id"))
    op.drop_table("campaign_launch")
