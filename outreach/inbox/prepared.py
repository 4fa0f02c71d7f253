"""Statements prepared on the PostgreSQL server, bound by psycopg on the client.

A SQLAlchemy statement is compiled once for PostgreSQL with positional parameters; each pooled connection
PREPAREs it the first time it needs it, so the server parses and plans it once, and every later run is
`EXECUTE name(…)` with the values bound client-side (quoted as the server would). SQL-level PREPARE needs
a session-level connection: a transaction-pooling proxy (PgBouncer in transaction mode) would have to run
in session mode for such a pool.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any

from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

_POSITIONAL = psycopg_dialect(paramstyle="numeric_dollar")  # type: ignore[no-untyped-call]


class Prepared:
    """A statement prepared on the server: PREPARE once per connection, then EXECUTE name(…)."""

    __slots__ = ("defaults", "execute", "name", "order", "prepare")

    def __init__(self, statement: Executable, name: str) -> None:
        assert isinstance(statement, ClauseElement)  # every statement the inbound pipeline runs is one
        compiled = statement.compile(dialect=_POSITIONAL)
        assert isinstance(compiled, SQLCompiler)  # a DML statement compiles to one
        self.name = name
        self.prepare = f"PREPARE {name} AS {compiled.string}"
        self.order = list(compiled.positiontup or ())
        self.defaults = _plain(compiled.params)
        self.execute = f"EXECUTE {name}({', '.join(['%s'] * len(self.order))})"

    def args(self, values: Mapping[str, Any]) -> list[Any]:
        """The values in the order the prepared statement takes them (its defaults filling gaps)."""
        return [values[key] if key in values else self.defaults[key] for key in self.order]


def _plain(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v.value if isinstance(v, Enum) else v for k, v in params.items() if v is not None}
