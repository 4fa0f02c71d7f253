"""report summary

The stored per-patient summary of a campaign's outcome report (`report_patient_summary`), the state of
each campaign's summary (`report_summary_state`), an index on the outbox by campaign and last change, by
which a refresh finds the patients whose texts changed, and one on inbound texts by the text they answer,
by which it reads only those patients' replies.

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-03 13:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import outreach.db

revision: str = "0016"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_IN_CAMPAIGN = sa.text("campaign_id IS NOT NULL")
_A_REPLY = sa.text("in_reply_to_id IS NOT NULL")
_COUNTS = (
    "sent", "delivered", "held", "skipped", "replied", "confirmed", "cancel", "optout", "a1", "a2", "a3",
    "texts_sent", "texts_delivered", "texts_fallback", "texts_failed", "failed_invalid_or_landline",
    "failed_carrier_filtered", "failed_unreachable", "failed_opted_out_at_carrier", "failed_other", "segments",
)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "report_patient_summary",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("grouping", sa.String(length=16), nullable=False),
        sa.Column("text_key", sa.String(length=48), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("patient_language", sa.String(length=35), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in _COUNTS),
        sa.Column("reply_days", sa.Integer(), nullable=False),
        sa.Column("computed_at", outreach.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", "patient_id", "grouping", "text_key"),
    )
    op.create_table(
        "report_summary_state",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("reply_days", sa.Integer(), nullable=False),
        sa.Column("computed_at", outreach.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("patients", sa.Integer(), nullable=False),
        sa.Column("full_built_at", outreach.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"]),
        sa.PrimaryKeyConstraint("campaign_id"),
    )
    with op.batch_alter_table("report_summary_state", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_summary_state_clinic_id"), ["clinic_id"], unique=False)
    with op.batch_alter_table("outbound_message", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbound_message_campaign_changed",
            ["campaign_id", "updated_at"],
            unique=False,
            postgresql_where=_IN_CAMPAIGN,
            sqlite_where=_IN_CAMPAIGN,
        )
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inbound_message_in_reply_to",
            ["in_reply_to_id"],
            unique=False,
            postgresql_where=_A_REPLY,
            sqlite_where=_A_REPLY,
        )


def downgrade() -> None:
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_inbound_message_in_reply_to", postgresql_where=_A_REPLY, sqlite_where=_A_REPLY
        )
    with op.batch_alter_table("outbound_message", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_outbound_message_campaign_changed", postgresql_where=_IN_CAMPAIGN, sqlite_where=_IN_CAMPAIGN
        )
    with op.batch_alter_table("report_summary_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_summary_state_clinic_id"))
    op.drop_table("report_summary_state")
    op.drop_table("report_patient_summary")
