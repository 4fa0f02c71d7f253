"""journeys

Patient events (discharged, procedure done, first visit, visit fulfilled, a clinic's own date), the
per-clinic rules that enroll a patient when one is recorded, the journeys (one patient's series of one
campaign timed from one event; unique per campaign and event) and their audit trail. Campaigns get the
event kind a journey campaign is timed from and its follow-through settings; the outbox gets the journey
a text belongs to, with a partial index for the change paths.

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-03 07:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import outreach.db

revision: str = "0013"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ACTIVE = sa.text("status = 'active'")
_IN_JOURNEY = sa.text("journey_id IS NOT NULL")


def _when(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, outreach.db.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "patient_event",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        _when("occurred_at"),
        sa.Column("location", sa.String(length=120), nullable=True),
        sa.Column("visit_type", sa.String(length=120), nullable=True),
        sa.Column("source", sa.String(length=40), nullable=False),
        _when("created_at"),
        _when("updated_at"),
        _when("deleted_at", nullable=True),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("patient_id", "kind", "occurred_at", name="uq_patient_event_moment"),
    )
    op.create_table(
        "journey_rule",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("event_kind", sa.String(length=24), nullable=False),
        sa.Column("location", sa.String(length=120), nullable=True),
        sa.Column("visit_type", sa.String(length=120), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        _when("created_at"),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"]),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("journey_rule", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_journey_rule_clinic_id"), ["clinic_id"], unique=False)
    op.create_table(
        "journey",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("rule_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("end_reason", sa.String(length=40), nullable=True),
        _when("anchor_at"),
        _when("planned_until", nullable=True),
        _when("escalated_at", nullable=True),
        _when("started_at"),
        _when("ended_at", nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"]),
        sa.ForeignKeyConstraint(["event_id"], ["patient_event.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", "campaign_id", name="uq_journey_event_campaign"),
    )
    with op.batch_alter_table("journey", schema=None) as batch_op:
        batch_op.create_index("ix_journey_patient", ["patient_id", "campaign_id"], unique=False)
        batch_op.create_index(
            "ix_journey_active_anchor",
            ["campaign_id", "anchor_at"],
            postgresql_where=_ACTIVE,
            sqlite_where=_ACTIVE,
        )
    op.create_table(
        "journey_audit",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("journey_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("rule_id", sa.Uuid(), nullable=True),
        sa.Column("key_id", sa.Uuid(), nullable=True),
        sa.Column("detail", sa.String(length=120), nullable=True),
        _when("at"),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"]),
        sa.ForeignKeyConstraint(["journey_id"], ["journey.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("journey_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_journey_audit_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_journey_audit_journey_id"), ["journey_id"], unique=False)
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.add_column(sa.Column("anchor_event", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("no_reply_after", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("restart_on_readmission", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    with op.batch_alter_table("outbound_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("journey_id", sa.Uuid(), nullable=True))
        batch_op.create_index(
            "ix_outbound_message_journey",
            ["journey_id"],
            postgresql_where=_IN_JOURNEY,
            sqlite_where=_IN_JOURNEY,
        )


def downgrade() -> None:
    with op.batch_alter_table("outbound_message", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_outbound_message_journey", postgresql_where=_IN_JOURNEY, sqlite_where=_IN_JOURNEY
        )
        batch_op.drop_column("journey_id")
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.drop_column("restart_on_readmission")
        batch_op.drop_column("no_reply_after")
        batch_op.drop_column("anchor_event")
    op.drop_table("journey_audit")
    op.drop_table("journey")
    op.drop_table("journey_rule")
    op.drop_table("patient_event")
