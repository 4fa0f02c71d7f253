"""The FHIR import pipeline: resources in, patients and visits stored, a summary out.

A pipeline rather than a service because it owns its batching: resources are validated one by one as
they stream in, mapped, and written a batch at a time with set-based statements (no ORM round trip per
resource), Patients before the Appointments and Encounters that refer to them. The caller's transaction
holds the whole import, so an import that fails part-way leaves nothing half-written; a bad resource is
only reported.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import IO, TypeVar

from sqlmodel import Session

from outreach.clinics.models import Clinic
from outreach.errors import Invalid
from outreach.fhir import parsing
from outreach.fhir.mapping_appointment import MappedAppointment
from outreach.fhir.mapping_encounter import MappedEncounter
from outreach.fhir.mapping_patient import MappedPatient
from outreach.fhir.parsing import RawResource
from outreach.fhir.prepare import PARALLEL_FROM_BYTES, Prepared, Rules, prepare, prepared_ndjson
from outreach.fhir.schemas import ImportSummary
from outreach.fhir.store_appointments import APPOINTMENT, unknown_patient, upsert_appointments
from outreach.fhir.store_encounters import ENCOUNTER, unknown_subject, upsert_encounters
from outreach.fhir.store_patients import PATIENT, upsert_patients

BATCH = 1000
DUPLICATE = "the same resource comes again later in this import; the later one is stored"
T = TypeVar("T", MappedPatient, MappedAppointment, MappedEncounter)


class Importer:
    """Feed it resources in any order of files; `finish` stores what is buffered and returns the summary."""

    def __init__(
        self, *, session: Session, clinic: Clinic, source: str, mrn_system: str, now: datetime
    ) -> None:
        self.session, self.clinic, self.source, self.now = session, clinic, source, now
        self.mrn_system = mrn_system
        if not source or len(source) > 255:
            raise Invalid("source", "must be 1 to 255 characters (the FHIR base URL or a name for the files)")
        self.summary = ImportSummary()
        self._patients: list[MappedPatient] = []
        self._appointments: list[MappedAppointment] = []
        self._encounters: list[MappedEncounter] = []
        self._waiting: list[MappedAppointment] = []  # their patient may come later in the import
        self._waiting_encounters: list[MappedEncounter] = []
        self._patient_ids: dict[str, uuid.UUID] = {}  # FHIR id → patient id, of patients seen so far

    @property
    def rules(self) -> Rules:
        """What mapping needs to know of the clinic."""
        return Rules(self.clinic.default_region, self.mrn_system, self.now.date())

    def feed(self, resource: RawResource) -> None:
        """Map one checked resource and take it."""
        self.take(prepare(resource, self.rules))

    def take(self, item: Prepared) -> None:
        """Count a resource left out, or buffer a mapped one, storing a batch when one is full."""
        if item.rejected is not None:
            self.summary.add(item.resource_type, "rejected", fhir_id=item.fhir_id, reason=item.rejected)
        elif item.skipped is not None:
            self.summary.add(item.resource_type, "skipped", fhir_id=item.fhir_id, reason=item.skipped)
        elif isinstance(item.mapped, MappedPatient):
            self._patients.append(item.mapped)
            if len(self._patients) >= BATCH:
                self._store_patients()
        elif isinstance(item.mapped, MappedAppointment):
            self._appointments.append(item.mapped)
            if len(self._appointments) >= BATCH:
                self._store_appointments()
        elif isinstance(item.mapped, MappedEncounter):
            self._encounters.append(item.mapped)
            if len(self._encounters) >= BATCH:
                self._store_encounters()

    def _store_patients(self) -> None:
        batch, self._patients = self._last_of_each(PATIENT, self._patients), []
        stored = upsert_patients(
            session=self.session,
            clinic=self.clinic,
            source=self.source,
            batch=batch,
            now=self.now,
            summary=self.summary,
        )
        self._patient_ids.update(stored)

    def _store_appointments(self) -> None:
        self._store_patients()
        batch, self._appointments = self._last_of_each(APPOINTMENT, self._appointments), []
        waiting = upsert_appointments(
            session=self.session,
            clinic_id=self.clinic.id,
            source=self.source,
            batch=batch,
            now=self.now,
            summary=self.summary,
            patient_ids=self._patient_ids,
        )
        self._waiting.extend(waiting)

    def _store_encounters(self) -> None:
        self._store_patients()
        batch, self._encounters = self._last_of_each(ENCOUNTER, self._encounters), []
        self._waiting_encounters.extend(self._upsert_encounters(batch))

    def _upsert_encounters(self, batch: list[MappedEncounter]) -> list[MappedEncounter]:
        """Record the Encounters' discharges; return those whose patient is not known (yet)."""
        if not batch:
            return []
        return upsert_encounters(
            session=self.session,
            clinic_id=self.clinic.id,
            source=self.source,
            batch=batch,
            now=self.now,
            summary=self.summary,
            patient_ids=self._patient_ids,
        )

    def _last_of_each(self, kind: str, batch: list[T]) -> list[T]:
        """One entry per FHIR id: the last one read is stored, an earlier one is reported as skipped."""
        last = {m.fhir_id: m for m in batch}
        if len(last) < len(batch):
            for m in batch:
                if last[m.fhir_id] is not m:
                    self.summary.add(kind, "skipped", fhir_id=m.fhir_id, reason=DUPLICATE)
        return list(last.values())

    def finish(self) -> ImportSummary:
        """Store the rest; appointments and encounters whose patient never came are rejected."""
        self._store_appointments()
        waiting, self._waiting = self._waiting, []
        for start in range(0, len(waiting), BATCH):
            never = upsert_appointments(
                session=self.session,
                clinic_id=self.clinic.id,
                source=self.source,
                batch=waiting[start : start + BATCH],
                now=self.now,
                summary=self.summary,
                patient_ids=self._patient_ids,
            )
            for m in never:
                self.summary.add(APPOINTMENT, "rejected", fhir_id=m.fhir_id, reason=unknown_patient(m))
        self._store_encounters()
        encounters, self._waiting_encounters = self._waiting_encounters, []
        for start in range(0, len(encounters), BATCH):
            for e in self._upsert_encounters(encounters[start : start + BATCH]):
                self.summary.add(ENCOUNTER, "rejected", fhir_id=e.fhir_id, reason=unknown_subject(e))
        self.session.flush()
        return self.summary


def read_stream(
    name: str, stream: IO[bytes], *, progress: Callable[[int], None] | None = None
) -> Iterator[RawResource]:
    """The resources of one file (NDJSON or a JSON Bundle or resource), told apart by name and content."""
    head = stream.read(65536)
    stream.seek(0)
    if parsing.looks_like_ndjson(name, head):
        yield from parsing.read_ndjson(stream, progress=progress)
    else:
        if progress is not None:
            progress(len(head))
        yield from parsing.read_json(stream)


def ordered(paths: Iterable[Path]) -> list[Path]:
    """Patient files first (their appointments refer to them), then the rest in the order given."""
    given = list(paths)
    return sorted(given, key=lambda p: (0 if p.name.lower().startswith("patient") else 1, given.index(p)))


def import_paths(
    *,
    session: Session,
    clinic: Clinic,
    source: str,
    mrn_system: str,
    paths: Iterable[Path],
    now: datetime,
    progress: Callable[[int], None] | None = None,
    parallel_from: int = PARALLEL_FROM_BYTES,
) -> ImportSummary:
    """Import FHIR files for a clinic in the caller's transaction; `progress` gets bytes read.

    NDJSON files of `parallel_from` bytes or more are validated and mapped in a worker process
    (`outreach.fhir.prepare`) while this one writes."""
    importer = Importer(session=session, clinic=clinic, source=source, mrn_system=mrn_system, now=now)
    for path in ordered(paths):
        with ExitStack() as stack:
            stream = stack.enter_context(path.open("rb"))
            large = path.stat().st_size >= parallel_from
            if large and parsing.looks_like_ndjson(path.name, stream.read(65536)):
                stream.seek(0)
                for item in prepared_ndjson(stream, importer.rules, progress=progress):
                    importer.take(item)
                continue
            stream.seek(0)
            for resource in read_stream(path.name, stream, progress=progress):
                importer.feed(resource)
    return importer.finish()
