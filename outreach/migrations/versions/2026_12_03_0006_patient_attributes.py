"""patient attributes

Optional attributes a clinic may record for the equity report: birth date, administrative sex, OMB
race and ethnicity codes, postal code and whether the patient needs an interpreter (codes and checks in
outreach/patients/attributes.py). All nullable: existing patients keep working unchanged.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 06:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
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


def downgrade() -> None:
    with op.batch_alter_table("patient", schema=None) as batch_op:
        for name in ("interpreter_needed", "postal_code", "ethnicity", "race", "sex", "birth_date"):
            batch_op.drop_column(name)
