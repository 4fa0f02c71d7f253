"""inbox

The coordinator queue: threads, their events, the access audit and coordinator profiles; each inbound
message points at its thread and at the outbound text it answers.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 03:46:57.075475
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import outreach.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "coordinator_profile",
        sa.Column("api_key_id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("display_name", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("languages", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("updated_at", outreach.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_key.id"],
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
        ),
        sa.PrimaryKeyConstraint("api_key_id"),
    )
    with op.batch_alter_table("coordinator_profile", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_coordinator_profile_clinic_id"), ["clinic_id"], unique=False)

    op.create_table(
        "inbox_thread",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=True),
        sa.Column("party", sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
        sa.Column("from_phone", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=35), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("priority_rank", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=True),
        sa.Column("awaiting_reply", sa.Boolean(), nullable=False),
        sa.Column("waiting_since", outreach.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_at", outreach.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_message_at", outreach.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("first_response_at", outreach.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", outreach.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=24), nullable=True),
        sa.Column("claimed_by", sa.Uuid(), nullable=True),
        sa.Column("claimed_at", outreach.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["claimed_by"],
            ["api_key.id"],
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("clinic_id", "party", name="uq_inbox_thread_clinic_party"),
    )
    with op.batch_alter_table("inbox_thread", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inbox_thread_active_queue",
            ["clinic_id", "priority_rank", "waiting_since", "id"],
            unique=False,
            postgresql_where=sa.text("status IN ('open', 'claimed')"),
            sqlite_where=sa.text("status IN ('open', 'claimed')"),
        )
        batch_op.create_index(batch_op.f("ix_inbox_thread_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index(
            "ix_inbox_thread_queue",
            ["clinic_id", "status", "priority_rank", "waiting_since", "id"],
            unique=False,
        )

    op.create_table(
        "inbox_audit",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("thread_id", sa.Uuid(), nullable=False),
        sa.Column("key_id", sa.Uuid(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("at", outreach.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
        ),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["api_key.id"],
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["inbox_thread.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("inbox_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbox_audit_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_inbox_audit_thread_id"), ["thread_id"], unique=False)

    op.create_table(
        "inbox_event",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("thread_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("key_id", sa.Uuid(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("outbound_message_id", sa.Uuid(), nullable=True),
        sa.Column("outcome", sa.String(length=24), nullable=True),
        sa.Column("at", outreach.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
        ),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["api_key.id"],
        ),
        sa.ForeignKeyConstraint(
            ["outbound_message_id"],
            ["outbound_message.id"],
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["inbox_thread.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("inbox_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbox_event_thread_id"), ["thread_id"], unique=False)

    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("thread_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("in_reply_to_id", sa.Uuid(), nullable=True))
        batch_op.create_index(
            "ix_inbound_message_thread_received", ["thread_id", "received_at"], unique=False
        )
        batch_op.create_foreign_key("fk_inbound_message_thread_id", "inbox_thread", ["thread_id"], ["id"])
        batch_op.create_foreign_key(
            "fk_inbound_message_in_reply_to_id", "outbound_message", ["in_reply_to_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.drop_constraint("fk_inbound_message_in_reply_to_id", type_="foreignkey")
        batch_op.drop_constraint("fk_inbound_message_thread_id", type_="foreignkey")
        batch_op.drop_index("ix_inbound_message_thread_received")
        batch_op.drop_column("in_reply_to_id")
        batch_op.drop_column("thread_id")

    with op.batch_alter_table("inbox_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbox_event_thread_id"))

    op.drop_table("inbox_event")
    with op.batch_alter_table("inbox_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbox_audit_thread_id"))
        batch_op.drop_index(batch_op.f("ix_inbox_audit_clinic_id"))

    op.drop_table("inbox_audit")
    with op.batch_alter_table("inbox_thread", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_thread_queue")
        batch_op.drop_index(batch_op.f("ix_inbox_thread_patient_id"))
        batch_op.drop_index(
            "ix_inbox_thread_active_queue",
            postgresql_where=sa.text("status IN ('open', 'claimed')"),
            sqlite_where=sa.text("status IN ('open', 'claimed')"),
        )

    op.drop_table("inbox_thread")
    with op.batch_alter_table("coordinator_profile", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coordinator_profile_clinic_id"))

    op.drop_table("coordinator_profile")
