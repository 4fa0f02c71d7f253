"""patient attributes

Optional attributes a clinic may record for the equity report: birth date, administrative sex, OMB
race and ethnicity codes, postal code and whether the patient needs an interpreter (codes and checks in
outreach/patients/attributes.py). All nullable: existing patients keep working unchanged.
And the audit trail of follow-up lists made from the outcome report (report_follow_up).

Revision ID: 0006
Revises: 0009
Create Date: 2026-12-03 06:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import outreach.db

revision: str = "0006"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.add_column(sa.Column("birth_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("sex", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True))
        batch_op.add_column(sa.Column("race", sqlmodel.sql.sqltypes.AutoString(length=48), nullable=True))
        batch_op.add_column(sa.Column("ethnicity", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True))
        batch_op.add_column(
            sa.Column("postal_code", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True)
        )
        batch_op.add_column(sa.Column("interpreter_needed", sa.Boolean(), nullable=True))
    op.create_table(
        "report_follow_up",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("key_id", sa.Uuid(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("by", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("group_key", sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("target_campaign_id", sa.Uuid(), nullable=True),
        sa.Column("patients", sa.Integer(), nullable=False),
        sa.Column("patient_ids", sa.JSON(), nullable=False),
        sa.Column("at", outreach.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"]),
        sa.ForeignKeyConstraint(["key_id"], ["api_key.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("report_follow_up", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_follow_up_clinic_id"), ["clinic_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("report_follow_up", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_follow_up_clinic_id"))
    op.drop_table("report_follow_up")
    with op.batch_alter_table("patient", schema=None) as batch_op:
        for name in ("interpreter_needed", "postal_code", "ethnicity", "race", "sex", "birth_date"):
            batch_op.drop_column(name)
