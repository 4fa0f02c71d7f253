"""Creating and finding a clinic's patients."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session, col, select

from outreach import i18n
from outreach.clinics.models import Clinic
from outreach.errors import Conflict, Invalid, NotFound
from outreach.patients.models import ConsentEvent, ConsentStatus, Patient
from outreach.patients.schemas import PatientCreate
from outreach.patients.validation import FieldError, normalize_phone, validate_timezone


def _checked_fields(*, clinic: Clinic, data: PatientCreate) -> tuple[str, str, str]:
    """Phone in E.164, language tag and time zone, or Invalid naming the field."""
    try:
        phone = normalize_phone(data.phone, default_region=clinic.default_region)
        timezone = validate_timezone(data.timezone or clinic.timezone)
    except FieldError as exc:
        raise Invalid(exc.field, exc.reason) from exc
    if not i18n.is_valid_tag(data.language):
        raise Invalid("language", f"'{data.language}' is not a valid BCP-47 language tag")
    return phone, data.language, timezone


def create_patient(*, session: Session, clinic: Clinic, data: PatientCreate, now: datetime) -> Patient:
    """Add a patient to the clinic, recording consent in the ledger when given."""
    phone, language, timezone = _checked_fields(clinic=clinic, data=data)
    taken = session.exec(
        select(Patient.id).where(Patient.clinic_id == clinic.id, Patient.external_id == data.external_id)
    ).first()
    if taken is not None:
        raise Conflict(f"a patient with external_id '{data.external_id}' already exists")
    patient = Patient(
        clinic_id=clinic.id,
        external_id=data.external_id,
        given_name=data.given_name,
        family_name=data.family_name,
        phone=phone,
        language=language,
        timezone=timezone,
        created_at=now,
        updated_at=now,
    )
    session.add(patient)
    session.flush()
    if data.consent is not None:
        record_consent(
            session=session, patient=patient, status=data.consent.status, source=data.consent.source, now=now
        )
    return patient


def record_consent(
    *, session: Session, patient: Patient, status: ConsentStatus, source: str, now: datetime
) -> ConsentEvent:
    """Append a consent change to the ledger and mirror it on the patient."""
    event = ConsentEvent(
        clinic_id=patient.clinic_id, patient_id=patient.id, status=status, source=source, recorded_at=now
    )
    patient.consent = status
    patient.updated_at = now
    session.add(event)
    session.add(patient)
    session.flush()
    return event


def opt_out(*, session: Session, patient: Patient, source: str, now: datetime) -> int:
    """Revoke consent and cancel every unsent text for the patient; return how many were cancelled."""
    from outreach.messaging.service import cancel_unsent

    if patient.consent != ConsentStatus.REVOKED:
        record_consent(session=session, patient=patient, status=ConsentStatus.REVOKED, source=source, now=now)
    return cancel_unsent(session=session, patient_id=patient.id, reason="patient opted out", now=now)


def mark_undeliverable(*, session: Session, patient: Patient, reason: str, now: datetime) -> int:
    """Stop texting a number the carrier says cannot get texts; return how many texts were cancelled."""
    from outreach.messaging.service import cancel_unsent

    patient.undeliverable_reason = reason[:255]
    patient.updated_at = now
    session.add(patient)
    return cancel_unsent(
        session=session, patient_id=patient.id, reason=f"number cannot get texts: {reason}", now=now
    )


def get_patient(*, session: Session, clinic_id: uuid.UUID, patient_id: uuid.UUID) -> Patient:
    """One of the clinic's patients."""
    patient = session.get(Patient, patient_id)
    if patient is None or patient.clinic_id != clinic_id:
        raise NotFound("patient")
    return patient


def list_patients(
    *,
    session: Session,
    clinic_id: uuid.UUID,
    language: str | None,
    consent: ConsentStatus | None,
    limit: int,
    offset: int,
) -> list[Patient]:
    """The clinic's patients, filtered, in a stable order."""
    query = select(Patient).where(Patient.clinic_id == clinic_id)
    if language:
        query = query.where(Patient.language == language)
    if consent:
        query = query.where(Patient.consent == consent)
    query = query.order_by(col(Patient.external_id)).offset(offset).limit(limit)
    return list(session.exec(query))
