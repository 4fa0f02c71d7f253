"""patient birth dates and ZIP codes encrypted at rest

A patient's birth date and ZIP code are stored as Fernet tokens (`birth_date_encrypted`,
`postal_code_encrypted`) under OUTREACH_PHI_KEYS, like phone numbers (0014). Beside them, in the clear, only
what HIPAA's Safe Harbor method allows and the outcome report reads: `birth_year` (raised so that nobody is
older than 90 at the time of writing) and `postal3` (the first three digits). Existing rows are converted
in batches; the clear columns are dropped. Downgrade decrypts back.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 15:00:00.000000
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from outreach.security import crypto

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000
OLDEST_STORED_AGE = 90  # as outreach/patients/attributes.py, spelled here so this migration never changes


def _convert(
    sources: tuple[str, str], change: Callable[[dict[str, Any]], dict[str, Any]], types: dict[str, Any]
) -> None:
    """Rewrite every patient row that has either source value, in batches: write what `change` returns."""
    conn = op.get_bind()
    first, second = sources
    last: Any = None
    while True:
        after = "" if last is None else "AND id > :last "
        rows = conn.execute(
            # The names are this module's own constants, never input.
            sa.text(
                f"SELECT id, {first}, {second} FROM patient "  # noqa: S608
                f"WHERE ({first} IS NOT NULL OR {second} IS NOT NULL) {after}ORDER BY id LIMIT {BATCH}"
            ),
            {} if last is None else {"last": last},
        ).mappings()
        batch = [dict(row) for row in rows]
        if not batch:
            return
        updates = [change(row) for row in batch]
        names = [name for name in updates[0] if name != "id"]
        assignments = ", ".join(f"{name} = :{name}" for name in names)
        statement = sa.text(f"UPDATE patient SET {assignments} WHERE id = :id")  # noqa: S608
        binds = [sa.bindparam(name, type_=kind) for name, kind in types.items()]
        conn.execute(statement.bindparams(*binds), updates)
        last = batch[-1]["id"]


def _as_date(value: Any) -> date | None:
    """A stored date as the driver returns it (SQLite: its ISO text) as a date."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def upgrade() -> None:
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.add_column(sa.Column("birth_date_encrypted", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("birth_year", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("postal_code_encrypted", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("postal3", sa.String(length=3), nullable=True))
    ring: list[crypto.Keyring] = []  # made on first use: a database without these attributes needs no keys
    today = datetime.now(UTC).date()

    def encrypt(row: dict[str, Any]) -> dict[str, Any]:
        if not ring:
            ring.append(crypto.active())
        born, code = _as_date(row["birth_date"]), row["postal_code"]
        return {
            "id": row["id"],
            "birth_date_encrypted": None if born is None else ring[0].encrypt(born.isoformat()),
            "postal_code_encrypted": None if code is None else ring[0].encrypt(code),
            "birth_year": None if born is None else max(born.year, today.year - OLDEST_STORED_AGE),
            "postal3": code[:3] if code else None,
        }

    _convert(("birth_date", "postal_code"), encrypt, {})
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_column("birth_date")
        batch_op.drop_column("postal_code")


def downgrade() -> None:
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.add_column(sa.Column("birth_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("postal_code", sa.String(length=10), nullable=True))
    ring = crypto.active()

    def decrypt(row: dict[str, Any]) -> dict[str, Any]:
        born, code = row["birth_date_encrypted"], row["postal_code_encrypted"]
        return {
            "id": row["id"],
            "birth_date": None if born is None else date.fromisoformat(ring.decrypt(born)),
            "postal_code": None if code is None else ring.decrypt(code),
        }

    _convert(("birth_date_encrypted", "postal_code_encrypted"), decrypt, {"birth_date": sa.Date()})
    with op.batch_alter_table("patient", schema=None) as batch_op:
        for name in ("postal3", "postal_code_encrypted", "birth_year", "birth_date_encrypted"):
            batch_op.drop_column(name)
