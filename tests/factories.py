"""Factory functions for test data: plain calls with overrides, not fixtures of fixtures."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, time
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Engine

from outreach.auth import mint_key
from outreach.clinics.models import Clinic, Role
from outreach.clinics.service import create_clinic as _create_clinic
from outreach.db import session_scope, utcnow
from outreach.messaging import service as messaging
from outreach.messaging.models import OutboundMessage
from outreach.patients.models import ConsentStatus, Patient
from outreach.patients.schemas import ConsentIn, PatientCreate
from outreach.patients.service import create_patient as _create_patient
from outreach.security.crypto import phone_columns

_numbers = itertools.count(1)


def create_clinic(
    engine: Engine, *, quiet_hours: tuple[time, time] | None = None, **overrides: Any
) -> Clinic:
    """A clinic with sensible defaults; quiet hours are off unless a test sets them (no wall-clock flakes)."""
    fields: dict[str, Any] = {"name": "Test Clinic", "phone": "+12025550100", "timezone": "America/New_York"}
    fields.update(overrides)
    start, end = quiet_hours or (time(0, 0), time(0, 0))
    with session_scope(engine) as session:
        clinic = _create_clinic(session=session, **fields)
        clinic.quiet_start, clinic.quiet_end = start, end
        session.add(clinic)
        return clinic


def create_key(engine: Engine, clinic: Clinic, role: Role = Role.ADMIN) -> str:
    """A fresh API key for the clinic."""
    with session_scope(engine) as session:
        return mint_key(session=session, clinic_id=clinic.id, role=role, name="test")


def auth(key: str) -> dict[str, str]:
    """Request headers carrying an API key."""
    return {"Authorization": f"Bearer {key}"}


def create_patient(
    engine: Engine, clinic: Clinic, *, consent: str | None = "granted", **overrides: Any
) -> Patient:
    """A consenting patient with a unique fictional 555-01xx number."""
    n = next(_numbers)
    fields: dict[str, Any] = {
        "external_id": f"MRN-{n:05d}",
        "given_name": "Ana",
        "family_name": "Lopez",
        "phone": f"+120255501{n % 100:02d}",
        "language": "es",
    }
    fields.update(overrides)
    if consent is not None:
        fields["consent"] = ConsentIn(status=ConsentStatus(consent), source="test")
    with session_scope(engine) as session:
        return _create_patient(session=session, clinic=clinic, data=PatientCreate(**fields), now=utcnow())


def create_one_off(
    engine: Engine, clinic: Clinic, patient: Patient, *, body: str = "Hello", send_at: datetime | None = None
) -> uuid.UUID:
    """A one-off text to the patient, due now unless `send_at` says when; returns its id."""
    with session_scope(engine) as session:
        message = messaging.create_one_off(
            session=session,
            clinic_id=clinic.id,
            patient_id=patient.id,
            body=body,
            send_at=send_at,
            language=None,
            now=utcnow(),
        )
        return message.id


def seed_due_texts(engine: Engine, clinic: Clinic, *, patients: int, per_patient: int) -> list[uuid.UUID]:
    """Many consenting patients with texts already due, inserted in bulk; returns the text ids."""
    now = utcnow()
    people: list[dict[str, Any]] = [
        {
            "id": uuid.uuid4(),
            "clinic_id": clinic.id,
            "external_id": f"BULK-{i:06d}",
            "given_name": "Test",
            "family_name": "Patient",
            "phone": f"+1202555{i:04d}",
            "language": "en",
            "timezone": "UTC",
            "consent": ConsentStatus.GRANTED.value,
            "created_at": now,
            "updated_at": now,
        }
        for i in range(patients)
    ]
    texts: list[dict[str, Any]] = [
        {
            "id": uuid.uuid4(),
            "clinic_id": clinic.id,
            "patient_id": p["id"],
            "kind": "one_off",
            "send_at": now,
            "status": "scheduled",
            "language": "en",
            "body": f"Reminder {n}",
            "segments": 1,
            "encoding": "GSM-7",
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
        }
        for p in people
        for n in range(per_patient)
    ]
    with session_scope(engine) as session:
        session.execute(insert(Patient), [{**p, **phone_columns(p["phone"])} for p in people])
        session.execute(insert(OutboundMessage), texts)
    return [t["id"] for t in texts]
