"""Key rotation for stored phone numbers: every token re-encrypted under the newest key, every blind index
recomputed under the newest index key (`outreach keys rotate`).

Put the new key first in OUTREACH_PHI_KEYS (and OUTREACH_PHI_INDEX_KEYS), keep the old ones after it,
restart, then rotate. Until the rotation is done, lookups accept the previous index key too
(`crypto.Keyring.lookups`), so inbound texts keep finding their patients. Afterwards the old keys can be
removed. Rows are rewritten in batches, each in its own transaction, so a rotation can be stopped and
run again; a row changed by the service while its batch was read is left alone (it was just written
under the newest keys).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, Text, bindparam, select, type_coerce, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from outreach.inbox.models import InboundMessage, Thread
from outreach.patients.models import Patient
from outreach.security.crypto import Keyring
from outreach.sms.models import SimulatedSms

BATCH = 1000


@dataclass(frozen=True, slots=True)
class Sealed:
    """A table's encrypted number column and, where it has one, the blind index beside it."""

    table: Table
    token: str
    index: str | None = None


SEALED = (
    Sealed(Patient.__table__, "phone_encrypted", "phone_hash"),  # type: ignore[attr-defined]
    Sealed(InboundMessage.__table__, "from_phone_encrypted"),  # type: ignore[attr-defined]
    Sealed(Thread.__table__, "from_phone_encrypted"),  # type: ignore[attr-defined]
    Sealed(SimulatedSms.__table__, "to_encrypted", "to_hash"),  # type: ignore[attr-defined]
)


def _batches(engine: Engine, sealed: Sealed) -> Iterator[list[Any]]:
    """The table's rows in id order, a batch at a time, each read in its own short transaction."""
    table = sealed.table
    token = type_coerce(table.c[sealed.token], Text).label("token")  # the stored token, not decrypted
    extra = [table.c.party] if table.name == "inbox_thread" else []
    last = None
    while True:
        query = select(table.c.id, token, *extra).order_by(table.c.id).limit(BATCH)
        if last is not None:
            query = query.where(table.c.id > last)
        with engine.connect() as conn:
            rows = list(conn.execute(query))
        if not rows:
            return
        yield rows
        last = rows[-1].id


def _rotate_table(engine: Engine, sealed: Sealed, keyring: Keyring) -> int:
    table = sealed.table
    values: dict[str, Any] = {sealed.token: bindparam("b_new", type_=Text)}
    if sealed.index:
        values[sealed.index] = bindparam("b_index")
    # Only a row still holding the token this batch read: one the service rewrote since is already new.
    statement = (
        update(table)
        .where(
            table.c.id == bindparam("b_id"),
            type_coerce(table.c[sealed.token], Text) == bindparam("b_old", type_=Text),
        )
        .values(values)
    )
    done = 0
    for rows in _batches(engine, sealed):
        params = []
        for row in rows:
            item = {"b_id": row.id, "b_old": row.token, "b_new": keyring.reencrypt(row.token)}
            if sealed.index:
                item["b_index"] = keyring.index(keyring.decrypt(row.token))
            params.append(item)
        with engine.begin() as conn:
            conn.execute(statement, params)
            if table.name == "inbox_thread":
                _rekey_unknown_numbers(conn, table, rows, keyring)
        done += len(rows)
    return done


def _rekey_unknown_numbers(conn: Connection, table: Table, rows: list[Any], keyring: Keyring) -> None:
    """Threads of numbers no patient has are keyed by the number's blind index: recompute it."""
    statement = update(table).where(table.c.id == bindparam("b_id")).values(party=bindparam("b_party"))
    for row in rows:
        if not row.party.startswith("n:"):
            continue
        party = "n:" + keyring.index(keyring.decrypt(row.token))
        if party == row.party:
            continue
        try:
            with conn.begin_nested():
                conn.execute(statement, {"b_id": row.id, "b_party": party})
        except IntegrityError:
            # The number texted after the new index key was in use: it already has a thread under the
            # new key, and this older one keeps its history under the old party.
            continue


def rotate(*, engine: Engine, keyring: Keyring) -> dict[str, int]:
    """Rewrite every stored number under the keyring's newest keys; how many rows of each table."""
    return {sealed.table.name: _rotate_table(engine, sealed, keyring) for sealed in SEALED}
