"""Bulk patient import from CSV or JSON: an idempotent upsert on the clinic's external id.

Each record is checked and stored on its own savepoint, so a bad line is reported (with its line
number and the reason) while every good line is kept. Importing the same file twice changes nothing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from outreach.clinics.models import Clinic
from outreach.db import session_scope, utcnow
from outreach.errors import DomainError, Invalid
from outreach.patients.attributes import ATTRIBUTES
from outreach.patients.models import Appointment, ConsentStatus, Patient
from outreach.patients.schemas import ImportReport, PatientCreate, PatientUpdate, RejectedRow
from outreach.patients.service import create_appointment, create_patient, record_consent, update_patient
from outreach.patients.validation import FieldError, iter_csv_rows

Progress = Callable[[int, int], None]
_PATIENT_FIELDS = ("external_id", "given_name", "family_name", "phone", "language", "timezone")
_KNOWN = frozenset({*_PATIENT_FIELDS, *ATTRIBUTES, "consent", "appointment_start", "appointment_location"})
_COMPARED = (*_PATIENT_FIELDS, *ATTRIBUTES)
_COMMIT_EVERY = 500  # rows per transaction in file imports: progress is durable, memory stays flat


def _parse_start(raw: object) -> datetime | None:
    if raw in (None, ""):
        return None
    try:
        start = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw))
    except ValueError:
        raise Invalid("appointment_start", f"'{raw}' is not an ISO 8601 date and time") from None
    if start.tzinfo is None:
        raise Invalid("appointment_start", f"'{raw}' needs a UTC offset, e.g. 2026-03-03T09:00:00-05:00")
    return start


def _checked(record: Mapping[str, object]) -> tuple[dict[str, object], str, datetime | None, str]:
    """(patient fields, consent, visit start, visit location) of one record, or Invalid.

    An empty or absent attribute leaves the stored one as it is, like every other column."""
    unknown = sorted(set(record) - _KNOWN)
    if unknown:
        raise Invalid(unknown[0], "is not a patient import field")
    fields: dict[str, object] = {
        k: str(record[k]) for k in _PATIENT_FIELDS if record.get(k) not in (None, "")
    }
    fields |= {k: record[k] for k in ATTRIBUTES if record.get(k) not in (None, "", [])}
    consent = str(record.get("consent") or "")
    if consent and consent not in (ConsentStatus.GRANTED, ConsentStatus.REVOKED):
        raise Invalid("consent", f"'{consent}' must be granted, revoked or empty")
    start = _parse_start(record.get("appointment_start"))
    return fields, consent, start, str(record.get("appointment_location") or "")


def _upsert(*, session: Session, clinic: Clinic, record: Mapping[str, object], now: datetime) -> str:
    """Store one record; return created, updated or unchanged."""
    fields, consent, start, location = _checked(record)
    external_id = str(fields.get("external_id", ""))
    patient = session.exec(
        select(Patient).where(Patient.clinic_id == clinic.id, Patient.external_id == external_id)
    ).first()
    outcome = "unchanged"
    if patient is None:
        data = PatientCreate.model_validate(fields)
        patient = create_patient(session=session, clinic=clinic, data=data, now=now)
        outcome = "created"
    else:
        before = {k: getattr(patient, k) for k in _COMPARED}
        changes = PatientUpdate.model_validate({k: v for k, v in fields.items() if k != "external_id"})
        update_patient(session=session, clinic=clinic, patient_id=patient.id, data=changes, now=now)
        outcome = "updated" if before != {k: getattr(patient, k) for k in _COMPARED} else outcome
    if consent and patient.consent != consent:
        record_consent(
            session=session, patient=patient, status=ConsentStatus(consent), source="import", now=now
        )
        outcome = "updated" if outcome == "unchanged" else outcome
    if start is not None and not _has_visit(session=session, patient_id=patient.id, start=start):
        create_appointment(
            session=session,
            clinic_id=clinic.id,
            patient_id=patient.id,
            starts_at=start,
            location=location,
            now=now,
        )
        outcome = "updated" if outcome == "unchanged" else outcome
    return outcome


def _has_visit(*, session: Session, patient_id: uuid.UUID, start: datetime) -> bool:
    query = select(Appointment.id).where(Appointment.patient_id == patient_id, Appointment.starts_at == start)
    return session.exec(query).first() is not None


def _rejection(line: int, exc: Exception) -> RejectedRow:
    if isinstance(exc, Invalid):
        return RejectedRow(line=line, field=exc.field, reason=exc.reason)
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "record"
        value = err.get("input")
        shown = "" if isinstance(value, dict) else f"'{value}': "
        return RejectedRow(
            line=line, field=field, reason=f"{shown}{str(err['msg']).removeprefix('Value error, ')}"
        )
    return RejectedRow(line=line, field="record", reason=str(exc))


def import_records(
    *, session: Session, clinic: Clinic, records: Iterable[tuple[int, Mapping[str, object]]], now: datetime
) -> ImportReport:
    """Upsert each (line, record); rejected records are reported and the rest are stored."""
    report = ImportReport()
    for line, record in records:
        try:
            with session.begin_nested():
                outcome = _upsert(session=session, clinic=clinic, record=record, now=now)
        except (DomainError, ValidationError, FieldError) as exc:
            report.errors.append(_rejection(line, exc))
            continue
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report


def _merge(total: ImportReport, part: ImportReport) -> None:
    total.created += part.created
    total.updated += part.updated
    total.unchanged += part.unchanged
    total.errors.extend(part.errors)


def import_file(
    *, engine: Engine, clinic_id: uuid.UUID, path: Path, progress: Progress | None
) -> ImportReport:
    """Import a CSV file (or a JSON list of records) for a clinic, reporting progress as (done, total)."""
    text = Path(path).read_text(encoding="utf-8-sig")
    records = list(_records(text, json_file=Path(path).suffix.lower() == ".json"))
    total = ImportReport()
    for start in range(0, len(records), _COMMIT_EVERY):
        with session_scope(engine) as session:
            clinic = session.get_one(Clinic, clinic_id)
            part = records[start : start + _COMMIT_EVERY]
            _merge(total, import_records(session=session, clinic=clinic, records=part, now=utcnow()))
        if progress is not None:
            progress(min(start + _COMMIT_EVERY, len(records)), len(records))
    return total


def _records(text: str, *, json_file: bool) -> Iterable[tuple[int, Mapping[str, object]]]:
    """(line, record) pairs: CSV line numbers, or positions from 1 in a JSON list."""
    if not json_file:
        try:
            return list(iter_csv_rows(text))
        except FieldError as exc:
            raise Invalid(exc.field, f"'{exc.value}' {exc.reason}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Invalid("file", f"is not valid JSON: {exc}") from exc
    items = data.get("patients") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise Invalid("file", 'must be a JSON list of patient records (or {"patients": [...]})')
    return [
        (n, item if isinstance(item, dict) else {"record": item}) for n, item in enumerate(items, start=1)
    ]


def parse_upload(data: bytes, *, json_file: bool) -> list[tuple[int, Mapping[str, object]]]:
    """Records of an uploaded file, or Invalid naming what is wrong with it."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid("file", f"is not UTF-8 text (byte {exc.start})") from exc
    return list(_records(text, json_file=json_file))
