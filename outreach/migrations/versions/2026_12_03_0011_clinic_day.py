"""clinic day: template library, staffed hours, program name per language

A clinic's own template library (one text per template name and language, with when it last changed, so
a translation older than its source text is flagged stale); the hours a clinic's team answers texts;
the program name the HELP answer uses, per language; and on each inbound text, the answer outreach sent
by itself (it was sent as TwiML and kept nowhere).

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-03 06:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import outreach.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "template_text",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=35), nullable=False),
        sa.Column("body", sqlmodel.sql.sqltypes.AutoString(length=1600), nullable=False),
        sa.Column("created_at", outreach.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", outreach.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("clinic_id", "name", "language", name="uq_template_text_language"),
    )
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.add_column(sa.Column("staffed_start", sa.Time(), nullable=True))
        batch_op.add_column(sa.Column("staffed_end", sa.Time(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "staffed_days",
                sqlmodel.sql.sqltypes.AutoString(length=7),
                nullable=False,
                server_default="12345",
            )
        )
        batch_op.add_column(
            sa.Column("program_names", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )

    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reply_body", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.drop_column("reply_body")
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.drop_column("program_names")
        batch_op.drop_column("staffed_days")
        batch_op.drop_column("staffed_end")
        batch_op.drop_column("staffed_start")
    op.drop_table("template_text")
