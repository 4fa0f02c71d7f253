"""Page parameters of the list routes, bounded so a page can never ask the database for the impossible.

An offset past the database's integer range was a 500; past this bound it is a 422 naming `offset`. Deep
offsets also cost the database a walk over every skipped row: past ten million, filter instead.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

MAX_OFFSET = 10_000_000

Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip")]
