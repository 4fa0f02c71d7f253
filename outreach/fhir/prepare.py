"""Reading, validating and mapping NDJSON lines in a second process while the first one writes.

Validation and mapping are most of an import's CPU and need no database, so for a large NDJSON file a
worker process prepares chunk n+1 (and n+2) while the importer stores chunk n: a bounded pipeline, so
memory stays flat whatever the file's size. What comes back is exactly what the importer would have
computed itself (the same functions run there); small files and Bundles are prepared in process.
"""

from __future__ import annotations

import json
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, fields
from datetime import date
from typing import IO

from outreach.fhir import parsing
from outreach.fhir.mapping_appointment import MappedAppointment, Reject, Skip, map_appointment
from outreach.fhir.mapping_encounter import MappedEncounter, map_encounter
from outreach.fhir.mapping_patient import MappedPatient, map_patient

CHUNK_LINES = 2000
IN_FLIGHT = 3  # chunks prepared ahead of the writer
PARALLEL_FROM_BYTES = 8 << 20  # below this, a worker process costs more than it saves


@dataclass(frozen=True, slots=True)
class Prepared:
    """One resource ready for the importer: mapped, or the reason it is skipped or rejected."""

    resource_type: str
    fhir_id: str
    mapped: MappedPatient | MappedAppointment | MappedEncounter | None = None
    skipped: str | None = None
    rejected: str | None = None


@dataclass(frozen=True, slots=True)
class Rules:
    """What mapping needs to know of the clinic."""

    region: str
    mrn_system: str
    today: date


def prepare(resource: parsing.RawResource, rules: Rules) -> Prepared:
    """Map one checked resource, or say why it is left out."""
    kind, fhir_id = resource.resource_type, resource.fhir_id
    if resource.problem is not None:
        return Prepared(kind, fhir_id, rejected=resource.problem)
    if resource.skip is not None:
        return Prepared(kind, fhir_id, skipped=resource.skip)
    if kind == "Patient":
        mapped = map_patient(
            resource.data, region=rules.region, mrn_system=rules.mrn_system, today=rules.today
        )
        return Prepared(kind, fhir_id, mapped=mapped)
    mapper = map_encounter if kind == "Encounter" else map_appointment
    try:
        return Prepared(kind, fhir_id, mapped=mapper(resource.data))
    except Skip as exc:
        return Prepared(kind, fhir_id, skipped=str(exc))
    except Reject as exc:
        return Prepared(kind, fhir_id, rejected=str(exc))


# What goes between the processes: plain tuples, which pickle in half the time of the dataclasses.
Packed = tuple[str, str, tuple[object, ...] | None, str | None, str | None]
_MAPPED: dict[str, type[MappedPatient | MappedAppointment | MappedEncounter]] = {
    "Patient": MappedPatient,
    "Appointment": MappedAppointment,
    "Encounter": MappedEncounter,
}
_FIELDS = {cls: tuple(f.name for f in fields(cls)) for cls in _MAPPED.values()}


def pack(item: Prepared) -> Packed:
    """A prepared resource as plain values (its mapped fields in declaration order)."""
    m = item.mapped
    values = None if m is None else tuple(getattr(m, name) for name in _FIELDS[type(m)])
    return item.resource_type, item.fhir_id, values, item.skipped, item.rejected


def unpack(packed: Packed) -> Prepared:
    """The prepared resource `pack` was given."""
    kind, fhir_id, values, skipped, rejected = packed
    mapped = None if values is None else _MAPPED[kind](*values)  # type: ignore[arg-type]
    return Prepared(kind, fhir_id, mapped, skipped, rejected)


def _prepare_lines(lines: list[bytes], first: int, rules: Rules) -> list[Packed]:
    """Check and map a chunk of NDJSON lines (numbered from `first`); runs in the worker process."""
    out: list[Packed] = []
    for number, line in enumerate(lines, start=first):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            out.append(("unknown", f"line {number}", None, None, f"is not valid JSON: {exc.msg}"))
            continue
        out.append(pack(prepare(parsing.checked(data, where=f"line {number}"), rules)))
    return out


def _chunks(stream: IO[bytes], progress: Callable[[int], None] | None) -> Iterator[tuple[list[bytes], int]]:
    lines: list[bytes] = []
    first = 1
    for number, line in enumerate(stream, start=1):
        lines.append(line)
        if len(lines) >= CHUNK_LINES:
            yield lines, first
            if progress is not None:
                progress(sum(len(x) for x in lines))
            lines, first = [], number + 1
    if lines:
        yield lines, first
        if progress is not None:
            progress(sum(len(x) for x in lines))


def prepared_ndjson(
    stream: IO[bytes], rules: Rules, *, progress: Callable[[int], None] | None = None
) -> Iterator[Prepared]:
    """Every resource of an NDJSON stream, prepared by a worker process a few chunks ahead, in order."""
    context = multiprocessing.get_context("fork")  # the worker needs no state the parent set up later
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        pending: deque[Future[list[Packed]]] = deque()
        for lines, first in _chunks(stream, progress):
            pending.append(pool.submit(_prepare_lines, lines, first, rules))
            if len(pending) >= IN_FLIGHT:
                yield from map(unpack, pending.popleft().result())
        while pending:
            yield from map(unpack, pending.popleft().result())
