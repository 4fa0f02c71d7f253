"""senders per clinic

A clinic's Twilio numbers and Messaging Services (with optional subaccount credentials, the token
encrypted), the sender each text used, the sender a campaign names, and the organisation a clinic
belongs to (for the STOP scope setting).

Revision ID: 0010
Revises: 0006
Create Date: 2026-12-03 07:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from outreach.db import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAMED = sa.text("sender_id IS NOT NULL")


def upgrade() -> None:
    op.create_table(
        "sender",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("label", sa.String(length=80), nullable=False),
        sa.Column("phone_number", sa.String(length=20), nullable=True),
        sa.Column("messaging_service_sid", sa.String(length=34), nullable=True),
        sa.Column("sender_type", sa.String(length=16), nullable=False),
        sa.Column("rate_per_s", sa.Float(), nullable=False),
        sa.Column("account_sid", sa.String(length=34), nullable=True),
        sa.Column("auth_token_encrypted", sa.Text(), nullable=True),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("phone_number"),
        sa.UniqueConstraint("messaging_service_sid"),
    )
    with op.batch_alter_table("sender", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sender_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sender_account_sid"), ["account_sid"], unique=False)
    with op.batch_alter_table("outbound_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sender_id", sa.Uuid(), nullable=True))
        batch_op.create_index(
            "ix_outbound_message_sender",
            ["sender_id", "status"],
            unique=False,
            postgresql_where=_NAMED,
            sqlite_where=_NAMED,
        )
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sender_id", sa.Uuid(), nullable=True))
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("organisation", sa.String(length=120), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.drop_column("organisation")
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.drop_column("sender_id")
    with op.batch_alter_table("outbound_message", schema=None) as batch_op:
        batch_op.drop_index("ix_outbound_message_sender", postgresql_where=_NAMED, sqlite_where=_NAMED)
        batch_op.drop_column("sender_id")
    with op.batch_alter_table("sender", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sender_account_sid"))
        batch_op.drop_index(batch_op.f("ix_sender_clinic_id"))
    op.drop_table("sender")
