"""Patient events from an uploaded CSV or JSON file: every row checked before any is recorded.

Columns (CSV header or JSON keys): `mrn` (the patient's MRN, `external_id`) or `patient_id`, `kind`
(discharged, procedure_done, first_visit, visit_fulfilled, custom), `occurred_at` (ISO 8601 with an
offset), and optionally `location` and `visit_type`. A malformed row refuses the whole file with its line
and field; a patient the clinic does not have is reported by position and the other rows are recorded.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from outreach.errors import Invalid
from outreach.journeys.events import EventRecord
from outreach.journeys.models import EventKind

MAX_ROWS = 100_000


class EventRow(BaseModel):
    """One row of an events file."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    mrn: str | None = Field(default=None, max_length=64)
    patient_id: uuid.UUID | None = None
    kind: EventKind
    occurred_at: AwareDatetime
    location: str | None = Field(default=None, max_length=120)
    visit_type: str | None = Field(default=None, max_length=120)


def _items(data: bytes, *, json_file: bool) -> list[tuple[int, dict[str, Any]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid("file", f"is not UTF-8 text (byte {exc.start})") from exc
    if not json_file:
        reader = csv.DictReader(io.StringIO(text))
        return [(n, {k: v for k, v in row.items() if v not in ("", None)}) for n, row in enumerate(reader, 2)]
    try:
        loaded = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Invalid("file", f"is not valid JSON: {exc}") from exc
    items = loaded.get("events") if isinstance(loaded, dict) else loaded
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise Invalid("file", 'must be a JSON list of event records (or {"events": [...]})')
    return list(enumerate(items, start=1))


def parse_events(data: bytes, *, json_file: bool, source: str) -> list[EventRecord]:
    """The events of an uploaded file, or Invalid naming the first bad row and field."""
    items = _items(data, json_file=json_file)
    if len(items) > MAX_ROWS:
        raise Invalid("file", f"has {len(items)} rows; the limit is {MAX_ROWS}")
    records = []
    for line, item in items:
        try:
            row = EventRow.model_validate(item)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "row"
            raise Invalid(f"line {line}.{where}", first["msg"]) from exc
        if row.mrn is None and row.patient_id is None:
            raise Invalid(f"line {line}.mrn", "give the patient's mrn or patient_id")
        records.append(
            EventRecord(
                kind=row.kind,
                occurred_at=row.occurred_at,
                patient_id=row.patient_id,
                external_id=row.mrn,
                location=row.location,
                visit_type=row.visit_type,
                source=source,
            )
        )
    return records
