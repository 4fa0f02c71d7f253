"""phone numbers encrypted at rest

Patients' numbers, the numbers inbound texts and threads came from, and the numbers simulated texts
reached are stored as Fernet tokens (`*_encrypted`) under OUTREACH_PHI_KEYS, with a blind index (HMAC under
OUTREACH_PHI_INDEX_KEYS) where a number is looked up, and a patient's last four digits for search. A
thread of a number no patient has is keyed "n:<blind index>" instead of "n:<number>". Existing rows are
converted in batches; the clear columns are dropped. Downgrade decrypts back.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 13:00:00.000000
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from outreach.security import crypto

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000
# table, clear column, encrypted column, its former length, blind-index column (or None)
_COLUMNS = (
    ("patient", "phone", "phone_encrypted", 20, "phone_hash"),
    ("inbound_message", "from_phone", "from_phone_encrypted", 32, None),
    ("inbox_thread", "from_phone", "from_phone_encrypted", 32, None),
    ("simulated_sms", "to", "to_encrypted", 20, "to_hash"),
)
_OLD_INDEXES = {"patient": "ix_patient_phone", "simulated_sms": "ix_simulated_sms_to"}


def _convert(table: str, source: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """Rewrite every row of a table in batches: read id and `source`, write what `change` returns."""
    conn = op.get_bind()
    last: Any = None
    while True:
        after = "" if last is None else "WHERE id > :last "
        rows = conn.execute(
            # The names are this module's own constants, never input.
            sa.text(f'SELECT id, "{source}" AS value FROM {table} {after}ORDER BY id LIMIT {BATCH}'),  # noqa: S608
            {} if last is None else {"last": last},
        ).mappings()
        batch = [dict(row) for row in rows]
        if not batch:
            return
        updates = [change(row) for row in batch]
        names = [name for name in updates[0] if name != "id"]
        assignments = ", ".join(f'"{name}" = :{name}' for name in names)
        conn.execute(sa.text(f"UPDATE {table} SET {assignments} WHERE id = :id"), updates)  # noqa: S608
        last = batch[-1]["id"]


def upgrade() -> None:
    for table, _, encrypted, _, index in _COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(encrypted, sa.Text(), nullable=True))
            if index:
                batch_op.add_column(sa.Column(index, sa.String(length=crypto.HASH_CHARS), nullable=True))
            if table == "patient":
                batch_op.add_column(sa.Column("phone_last4", sa.String(length=4), nullable=True))
    ring: list[crypto.Keyring] = []  # made on first use: an empty database needs no keys

    def keyring() -> crypto.Keyring:
        if not ring:
            ring.append(crypto.active())
        return ring[0]

    def encrypt(encrypted: str, index: str | None) -> Callable[[dict[str, Any]], dict[str, Any]]:
        def change(row: dict[str, Any]) -> dict[str, Any]:
            phone = row["value"] or ""
            out = {"id": row["id"], encrypted: keyring().encrypt(phone)}
            if index:
                out[index] = keyring().index(phone)
            if index == "phone_hash":
                out["phone_last4"] = crypto.last4(phone)
            return out

        return change

    def unknown_party(row: dict[str, Any]) -> dict[str, Any]:
        party: str = row["value"]
        if party.startswith("n:"):
            party = "n:" + keyring().index(party[2:])
        return {"id": row["id"], "party": party}

    for table, clear, encrypted, _, index in _COLUMNS:
        _convert(table, clear, encrypt(encrypted, index))
    _convert("inbox_thread", "party", unknown_party)
    for table, clear, encrypted, _, index in _COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            if table in _OLD_INDEXES:
                batch_op.drop_index(_OLD_INDEXES[table])
            batch_op.alter_column(encrypted, existing_type=sa.Text(), nullable=False)
            if index:
                batch_op.alter_column(index, existing_type=sa.String(crypto.HASH_CHARS), nullable=False)
                batch_op.create_index(f"ix_{table}_{index}", [index], unique=False)
            if table == "patient":
                batch_op.alter_column("phone_last4", existing_type=sa.String(4), nullable=False)
            batch_op.drop_column(clear)


def downgrade() -> None:
    ring = crypto.active()
    parties: dict[str, str] = {}  # blind index → number, from the threads' own encrypted numbers

    def decrypt(clear: str, table: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
        def change(row: dict[str, Any]) -> dict[str, Any]:
            phone = ring.decrypt(row["value"] or "")
            if table == "inbox_thread":
                parties[ring.index(phone)] = phone
                for old in ring.lookups(phone):
                    parties[old] = phone
            return {"id": row["id"], clear: phone}

        return change

    def unknown_party(row: dict[str, Any]) -> dict[str, Any]:
        party: str = row["value"]
        if party.startswith("n:") and party[2:] in parties:
            party = "n:" + parties[party[2:]]
        return {"id": row["id"], "party": party}

    for table, clear, _, length, _ in _COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(clear, sa.String(length=length), nullable=True))
    for table, clear, encrypted, _, _ in _COLUMNS:
        _convert(table, encrypted, decrypt(clear, table))
    _convert("inbox_thread", "party", unknown_party)
    for table, clear, encrypted, length, index in _COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(clear, existing_type=sa.String(length), nullable=False)
            if index:
                batch_op.drop_index(f"ix_{table}_{index}")
                batch_op.drop_column(index)
            if table == "patient":
                batch_op.drop_column("phone_last4")
            batch_op.drop_column(encrypted)
            if table in _OLD_INDEXES:
                batch_op.create_index(_OLD_INDEXES[table], [clear], unique=False)
