"""Key rotation for stored phone numbers and patients' birth dates and ZIP codes: every token re-encrypted
under the newest key, every blind index recomputed under the newest index key (`outreach keys rotate`).

Put the new key first in OUTREACH_PHI_KEYS (and OUTREACH_PHI_INDEX_KEYS), keep the old ones after it,
restart, then rotate. Until the rotation is done, lookups accept the previous index key too
(`crypto.Keyring.lookups`), so inbound texts keep finding their patients. Afterwards the old keys can be
removed. Rows are rewritten in batches, each in its own transaction, so a rotation can be stopped and
run again; a value the service changed while its batch was read is left alone (it was just written
under the newest keys), and the row's other values are still rewritten.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, Text, bindparam, case, select, type_coerce, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from outreach.inbox.models import InboundMessage, Thread
from outreach.patients.models import Patient
from outreach.security.crypto import Keyring
from outreach.sms.models import SimulatedSms

BATCH = 1000


@dataclass(frozen=True, slots=True)
class Sealed:
    """A table's encrypted number column and, where it has one, the blind index beside it; `also`: the
    table's other encrypted columns (never indexed; null where nothing is recorded)."""

    table: Table
    token: str
    index: str | None = None
    also: tuple[str, ...] = ()

    @property
    def tokens(self) -> tuple[str, ...]:
        """Every encrypted column, the number's first."""
        return (self.token, *self.also)


SEALED = (
    Sealed(
        Patient.__table__,  # type: ignore[attr-defined]
        "phone_encrypted",
        "phone_hash",
        also=("birth_date_encrypted", "postal_code_encrypted"),
    ),
    Sealed(InboundMessage.__table__, "from_phone_encrypted"),  # type: ignore[attr-defined]
    Sealed(Thread.__table__, "from_phone_encrypted"),  # type: ignore[attr-defined]
    Sealed(SimulatedSms.__table__, "to_encrypted", "to_hash"),  # type: ignore[attr-defined]
)


def _batches(engine: Engine, sealed: Sealed) -> Iterator[list[Any]]:
    """The table's rows in id order, a batch at a time, each read in its own short transaction."""
    table = sealed.table
    # The stored tokens, not decrypted: t0 (the number), t1, ...
    tokens = [type_coerce(table.c[name], Text).label(f"t{i}") for i, name in enumerate(sealed.tokens)]
    extra = [table.c.party] if table.name == "inbox_thread" else []
    last = None
    while True:
        query = select(table.c.id, *tokens, *extra).order_by(table.c.id).limit(BATCH)
        if last is not None:
            query = query.where(table.c.id > last)
        with engine.connect() as conn:
            rows = list(conn.execute(query))
        if not rows:
            return
        yield rows
        last = rows[-1].id


def _again(keyring: Keyring, token: str | None) -> str | None:
    return None if token is None else keyring.reencrypt(token)


def _rotate_table(engine: Engine, sealed: Sealed, keyring: Keyring) -> int:
    table = sealed.table
    names = sealed.tokens
    # Each value only where the row still holds the token this batch read: a value the service rewrote
    # since is already under the newest keys (and the service may have rewritten one column of a row only).
    same = [
        type_coerce(table.c[name], Text).is_not_distinct_from(bindparam(f"b_old{i}", type_=Text))
        for i, name in enumerate(names)
    ]
    values: dict[str, Any] = {
        name: case((same[i], bindparam(f"b_new{i}", type_=Text)), else_=table.c[name])
        for i, name in enumerate(names)
    }
    if sealed.index:
        values[sealed.index] = case((same[0], bindparam("b_index")), else_=table.c[sealed.index])
    statement = update(table).where(table.c.id == bindparam("b_id")).values(values)
    done = 0
    for rows in _batches(engine, sealed):
        params = []
        for row in rows:
            item: dict[str, Any] = {"b_id": row.id}
            for i in range(len(names)):
                token = row._mapping[f"t{i}"]
                item[f"b_old{i}"], item[f"b_new{i}"] = token, _again(keyring, token)
            if sealed.index:
                item["b_index"] = keyring.index(keyring.decrypt(row.t0))
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
        party = "n:" + keyring.index(keyring.decrypt(row.t0))
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
