"""queue language index

The coordinator queue filtered by language ("my languages", or one language) walks an index of the
active threads by language instead of reading every active thread to check its language.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 22:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ACTIVE = sa.text("status IN ('open', 'claimed')")


def upgrade() -> None:
    with op.batch_alter_table("inbox_thread", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inbox_thread_active_language",
            ["clinic_id", "language", "priority_rank", "waiting_since", "id"],
            unique=False,
            postgresql_where=_ACTIVE,
            sqlite_where=_ACTIVE,
        )


def downgrade() -> None:
    with op.batch_alter_table("inbox_thread", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_thread_active_language", postgresql_where=_ACTIVE, sqlite_where=_ACTIVE)
