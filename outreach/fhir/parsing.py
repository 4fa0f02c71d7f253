"""Reading FHIR R4 input: Bundles (collection, searchset, transaction, batch) and Bulk Data NDJSON.

NDJSON is read line by line from a binary stream, so a file of any size takes constant memory. A Bundle is
one JSON document and is read whole; large exports come as NDJSON. Every resource is validated with the
`fhir.resources` R4B models (R4B is R4 with a few unrelated resources added; Patient, Appointment and
Encounter are the same), and a resource that fails is reported with its id and the first reason, not raised.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.bundle import Bundle as FhirBundle
from fhir.resources.R4B.encounter import Encounter as FhirEncounter
from fhir.resources.R4B.patient import Patient as FhirPatient
from pydantic import ValidationError

from outreach.errors import Invalid
from outreach.fhir import validity

IMPORTED = ("Patient", "Appointment", "Encounter")
_MODELS: dict[str, Any] = {"Patient": FhirPatient, "Appointment": FhirAppointment, "Encounter": FhirEncounter}
SKIPPED_TYPE = "outreach imports Patient, Appointment and Encounter resources only"
_BUNDLE_TYPES = frozenset({"collection", "searchset", "transaction", "batch"})


@dataclass(frozen=True, slots=True)
class RawResource:
    """One resource as read: its type and id, its JSON, or why it cannot be used."""

    resource_type: str
    fhir_id: str
    data: dict[str, Any]
    problem: str | None = None  # set: the resource is rejected with this reason
    skip: str | None = None  # set: the resource is skipped (not an error) with this reason


def validation_reason(exc: ValidationError) -> str:
    """The first error of a model validation, as 'element: message'."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "resource"
    return f"{where}: {str(first['msg']).removeprefix('Value error, ')}"


def checked(data: object, *, where: str, full_urls: dict[str, str] | None = None) -> RawResource:
    """A resource validated with its R4B model (Patient, Appointment, Encounter); others are skipped."""
    if not isinstance(data, dict):
        return RawResource("unknown", where, {}, problem="is not a JSON object")
    kind = str(data.get("resourceType") or "unknown")
    fhir_id = str(data.get("id") or where)
    model = _MODELS.get(kind)
    if model is None:
        return RawResource(kind, fhir_id, {}, skip=SKIPPED_TYPE)
    if not data.get("id"):
        return RawResource(kind, fhir_id, {}, problem="id: a resource needs an id to be kept in step")
    try:
        validity.validate(model, kind, data)
    except ValidationError as exc:
        return RawResource(kind, fhir_id, {}, problem=validation_reason(exc))
    if full_urls:
        data = {**data, "_fullUrls": full_urls}
    return RawResource(kind, fhir_id, data)


def read_ndjson(stream: IO[bytes], *, progress: Callable[[int], None] | None = None) -> Iterator[RawResource]:
    """Resources of a Bulk Data NDJSON stream, one a line (blank lines ignored)."""
    for number, line in enumerate(stream, start=1):
        if progress is not None:
            progress(len(line))
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            yield RawResource("unknown", f"line {number}", {}, problem=f"is not valid JSON: {exc.msg}")
            continue
        yield checked(data, where=f"line {number}")


def bundle_entries(bundle: dict[str, Any]) -> Iterator[RawResource]:
    """The resources of a Bundle whose envelope is valid; search outcomes and deletes are left out."""
    try:
        FhirBundle.model_validate({**bundle, "entry": []})
    except ValidationError as exc:
        raise Invalid("file", f"is not a valid FHIR Bundle ({validation_reason(exc)})") from None
    if bundle.get("type") not in _BUNDLE_TYPES:
        raise Invalid(
            "file", f"Bundle type '{bundle.get('type')}' is not collection, searchset or transaction"
        )
    entries = bundle.get("entry") or []
    # In a transaction, references may name other entries by fullUrl (urn:uuid:...): map them to ids.
    full_urls = {
        str(e["fullUrl"]): f"{e['resource'].get('resourceType')}/{e['resource'].get('id')}"
        for e in entries
        if isinstance(e, dict) and e.get("fullUrl") and isinstance(e.get("resource"), dict)
    }
    for position, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("resource"), dict):
            continue
        if (entry.get("search") or {}).get("mode") == "outcome":
            continue
        if (entry.get("request") or {}).get("method") == "DELETE":
            continue
        yield checked(entry["resource"], where=f"entry {position}", full_urls=full_urls)


def read_json(stream: IO[bytes]) -> Iterator[RawResource]:
    """Resources of one JSON document: a Bundle, or a single resource."""
    try:
        data = json.load(stream)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Invalid("file", f"is not valid JSON ({exc})") from None
    if isinstance(data, dict) and data.get("resourceType") == "Bundle":
        yield from bundle_entries(data)
    else:
        yield checked(data, where="document")


def looks_like_ndjson(name: str, head: bytes) -> bool:
    """NDJSON by its name (.ndjson, .jsonl), or a first line that is a whole resource by itself."""
    if name.lower().endswith((".ndjson", ".jsonl")):
        return True
    first = head.split(b"\n", 1)[0].strip()
    if not first.startswith(b"{"):
        return False
    try:
        json.loads(first)
    except json.JSONDecodeError:
        return False
    return b"\n" in head.strip()
