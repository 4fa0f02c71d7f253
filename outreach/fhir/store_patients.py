"""Set-based upsert of mapped Patients: a few statements per batch, never a round trip per patient.

A patient is found by its FHIR link (clinic, source, id), else by its MRN (the clinic's external id),
so a patient first imported from CSV is joined to its EHR record instead of doubled. A patient without
an MRN is kept under its FHIR id. Only columns that changed are written, so the same input twice is
"unchanged" and writes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, inspect, select, update
from sqlmodel import Session, col

from outreach.clinics.models import Clinic
from outreach.fhir.mapping_patient import MappedPatient
from outreach.fhir.models import FhirLink
from outreach.fhir.schemas import ImportSummary, ResourceNote
from outreach.patients.attributes import clear_columns
from outreach.patients.models import ConsentStatus, Patient
from outreach.security.crypto import Keyring, active, is_sealed, phone_columns

PATIENT = "Patient"
# Demographic columns the outcome report reads; stored where the patient table has them.
_ATTRIBUTES = ("birth_date", "sex", "race", "ethnicity", "postal_code", "interpreter_needed")
_COMPARED = ("external_id", "given_name", "family_name", "phone", "language", "undeliverable_reason")


# Attributes stored encrypted, by the column that holds them (what a Core INSERT or COPY names).
_SEALED = {key: column.name for key, column in inspect(Patient).columns.items() if key != column.name}


def attribute_columns() -> tuple[str, ...]:
    """The demographic attributes the patient model can hold."""
    present = inspect(Patient).columns.keys()
    return tuple(name for name in _ATTRIBUTES if name in present)


def many(values: Iterable[object]) -> Any:
    """A batch's values for IN, rendered as literals: PostgreSQL hashes a constant list, but checks a list of
    1,000 parameters one by one against every row an index finds (and psycopg prepares after 5 runs)."""
    return bindparam("many", sorted(set(values), key=str), expanding=True, literal_execute=True)


@dataclass(frozen=True, slots=True)
class Link:
    """A stored link: its row id, the local row, and what was last read of the resource."""

    id: uuid.UUID
    local_id: uuid.UUID
    version_id: str | None
    fhir_status: str | None


def links(
    session: Session, *, clinic_id: uuid.UUID, source: str, resource_type: str, fhir_ids: list[str]
) -> dict[str, Link]:
    """The links of the given FHIR ids, by id."""
    if not fhir_ids:
        return {}
    query = select(
        col(FhirLink.fhir_id),
        col(FhirLink.id),
        col(FhirLink.local_id),
        col(FhirLink.version_id),
        col(FhirLink.fhir_status),
    ).where(
        col(FhirLink.clinic_id) == clinic_id,
        col(FhirLink.source) == source,
        col(FhirLink.resource_type) == resource_type,
        col(FhirLink.fhir_id).in_(many(fhir_ids)),
    )
    return {row[0]: Link(*row[1:]) for row in session.execute(query)}


def _wanted(
    m: MappedPatient, clinic: Clinic, row: dict[str, Any] | None, attrs: tuple[str, ...]
) -> dict[str, Any]:
    """The column values the mapped patient should have now."""
    values: dict[str, Any] = {
        "external_id": m.mrn or m.fhir_id,
        "given_name": m.given_name,
        "family_name": m.family_name,
        "phone": m.phone or "",
        "language": m.language or (row["language"] if row else clinic.default_language),
    }
    if m.phone is None:
        values["undeliverable_reason"] = m.not_textable
    elif row is None or row["phone"] != m.phone:
        values["undeliverable_reason"] = None  # a new number: what the carrier said of the old one is moot
    else:
        values["undeliverable_reason"] = row["undeliverable_reason"]
    mapped = m.attributes()
    values.update({name: mapped[name] for name in attrs})
    return values


def upsert_patients(
    *,
    session: Session,
    clinic: Clinic,
    source: str,
    batch: list[MappedPatient],
    now: datetime,
    summary: ImportSummary,
) -> dict[str, uuid.UUID]:
    """Create, update or leave each mapped patient; count each in `summary`; return their local ids."""
    attrs = attribute_columns()
    known = links(
        session,
        clinic_id=clinic.id,
        source=source,
        resource_type=PATIENT,
        fhir_ids=[m.fhir_id for m in batch],
    )
    keys = [m.mrn or m.fhir_id for m in batch]
    by_key: dict[str, uuid.UUID] = dict(
        session.execute(
            select(col(Patient.external_id), col(Patient.id)).where(
                col(Patient.clinic_id) == clinic.id, col(Patient.external_id).in_(many(keys))
            )
        ).all()
    )
    ids = {link.local_id for link in known.values()} | set(by_key.values())
    columns = [col(getattr(Patient, name)) for name in ("id", *_COMPARED, *attrs)]
    rows = {
        r["id"]: dict(r)
        for r in session.execute(select(*columns).where(col(Patient.id).in_(many(ids)))).mappings()
    }
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    new_links: list[dict[str, Any]] = []
    link_updates: list[dict[str, Any]] = []
    seen: dict[str, str] = {}  # external id → FHIR id, within this batch
    stored: dict[str, uuid.UUID] = {}
    for m in batch:
        key = m.mrn or m.fhir_id
        if seen.get(key, m.fhir_id) != m.fhir_id:
            summary.add(
                PATIENT,
                "rejected",
                fhir_id=m.fhir_id,
                reason="identifier: another Patient in this import has the same MRN",
            )
            continue
        link = known.get(m.fhir_id)
        owner = by_key.get(key)
        if link is not None and owner is not None and owner != link.local_id:
            summary.add(
                PATIENT,
                "rejected",
                fhir_id=m.fhir_id,
                reason="identifier: the MRN belongs to another patient of this clinic",
            )
            continue
        seen[key] = m.fhir_id
        found = link.local_id if link is not None else owner
        row = rows.get(found) if found is not None else None
        wanted = _wanted(m, clinic, row, attrs)
        patient_id: uuid.UUID = uuid.uuid4() if row is None else row["id"]
        if row is None:
            inserts.append(
                {
                    **wanted,
                    "id": patient_id,
                    "clinic_id": clinic.id,
                    "timezone": clinic.timezone,
                    "consent": ConsentStatus.UNKNOWN.value,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            rows[patient_id] = {"id": patient_id, **wanted}
            summary.add(PATIENT, "created")
        elif any(row[k] != v for k, v in wanted.items()):
            updates.append({**wanted, "id": patient_id, "updated_at": now})
            rows[patient_id] = {"id": patient_id, **wanted}
            summary.add(PATIENT, "updated")
        else:
            summary.add(PATIENT, "unchanged")
        stored[m.fhir_id] = patient_id
        if m.phone is None:
            summary.not_textable.append(_note(m))
        if link is None:
            new_links.append(
                _link(clinic.id, source, PATIENT, m.fhir_id, patient_id, m.version_id, None, now)
            )
        elif link.version_id != m.version_id:
            link_updates.append({"id": link.id, "version_id": m.version_id, "updated_at": now})
    ring = active()
    write(
        session,
        Patient,
        [_stored(row, ring, now, columns=True) for row in inserts],
        [_stored(row, ring, now, columns=False) for row in updates],
    )
    write(session, FhirLink, new_links, link_updates)
    return stored


def _stored(row: dict[str, Any], ring: Keyring, now: datetime, *, columns: bool) -> dict[str, Any]:
    """A row as written: encrypted values under their column names (`columns`: for inserts) or their
    attribute names (updates), with the number's blind index and last four digits and the clear birth year
    and ZIP3 beside them, computed here for the whole batch."""
    out = {(_SEALED.get(k, k) if columns else k): v for k, v in row.items()}
    out.update(phone_columns(row["phone"], keyring=ring))
    out.update(clear_columns(birth_date=row["birth_date"], postal_code=row["postal_code"], today=now.date()))
    return out


def _note(m: MappedPatient) -> ResourceNote:
    return ResourceNote(resource_type=PATIENT, id=m.fhir_id, reason=m.not_textable or "")


def _link(
    clinic_id: uuid.UUID,
    source: str,
    kind: str,
    fhir_id: str,
    local_id: uuid.UUID,
    version_id: str | None,
    fhir_status: str | None,
    now: datetime,
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "clinic_id": clinic_id,
        "source": source,
        "resource_type": kind,
        "fhir_id": fhir_id,
        "local_id": local_id,
        "version_id": version_id,
        "fhir_status": fhir_status,
        "updated_at": now,
    }


def write(session: Session, model: Any, inserts: list[dict[str, Any]], updates: list[dict[str, Any]]) -> None:
    """New rows in one COPY (PostgreSQL) or one multi-row INSERT; changed rows in one executemany UPDATE."""
    table = model.__table__
    if inserts and session.get_bind().dialect.name == "postgresql":
        _copy(session, table, inserts)
    elif inserts:
        session.execute(insert(table), inserts)
    if updates:
        session.execute(update(model), updates)


def _copy(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """COPY rows into a table on the session's own connection and transaction (values are already typed;
    encrypted columns are encrypted here, as an INSERT's parameters would be)."""
    columns = list(rows[0])
    raw = session.connection().connection.driver_connection
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    sealed = [c for c in columns if is_sealed(table.c[c])]
    dialect = session.get_bind().dialect
    with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        for row in rows:
            values = dict(row)
            for name in sealed:
                values[name] = table.c[name].type.process_bind_param(values[name], dialect)
            copy.write_row([values[c] for c in columns])
