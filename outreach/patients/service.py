"""Creating and finding a clinic's patients."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from sqlmodel import Session, col, select

from outreach import i18n
from outreach.campaigns.changes import cancel_for_appointment, plan_new_appointment, replan_appointment
from outreach.clinics.models import Clinic
from outreach.errors import Conflict, Invalid
from outreach.messaging.service import cancel_unsent
from outreach.patients.attributes import ATTRIBUTES, stored_race
from outreach.patients.models import Appointment, AppointmentStatus, ConsentEvent, ConsentStatus, Patient
from outreach.patients.schemas import PatientCreate, PatientUpdate
from outreach.patients.validation import FieldError, normalize_phone, validate_timezone
from outreach.security.crypto import indexed
from outreach.tenancy import get_owned


def _checked_fields(*, clinic: Clinic, data: PatientCreate) -> tuple[str, str, str]:
    """Phone in E.164, language tag and time zone, or Invalid naming the field and the value."""
    try:
        phone = normalize_phone(data.phone, default_region=clinic.default_region)
        timezone = validate_timezone(data.timezone or clinic.timezone)
    except FieldError as exc:
        raise Invalid(exc.field, f"'{exc.value}' {exc.reason}") from exc
    if not i18n.is_valid_tag(data.language):
        raise Invalid("language", _tag_problem(data.language, clinic))
    return phone, data.language, timezone


# BCP-47's shape (RFC 5646 §2.1): language, extlangs, script, region, variants.
_WELL_FORMED = re.compile(
    r"^[A-Za-z]{2,3}(-[A-Za-z]{3}){0,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?"
    r"(-([A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*$"
)


def _tag_problem(tag: str, clinic: Clinic) -> str:
    """Why a language tag is refused: not a tag at all, or a tag of a language outreach does not know."""
    if not _WELL_FORMED.match(tag.replace("_", "-")):
        return f"'{tag}' is not a valid BCP-47 language tag (e.g. es-MX, so, zh-Hant)"
    fallback = i18n.negotiate(None, clinic_default=clinic.default_language).language
    return (
        f"'{tag}' is a valid language tag, but not one outreach supports; its texts would fall back to "
        f"'{fallback}' (the clinic's language): store the language this patient reads texts in"
    )


def _refuse_shared_phone(
    *, session: Session, clinic_id: uuid.UUID, phone: str, patient_id: uuid.UUID | None
) -> None:
    """One number, one patient per clinic: a reply is routed by the number it comes from, so a second
    patient on the same number would read the first one's texts and answer for them."""
    query = select(Patient.external_id).where(
        Patient.clinic_id == clinic_id, indexed(col(Patient.phone_hash), phone)
    )
    if patient_id is not None:
        query = query.where(Patient.id != patient_id)
    owner = session.exec(query).first()
    if owner is not None:
        raise Invalid(
            "phone",
            f"is already the number of patient {owner}: replies are matched to one patient by their number, "
            "so a phone a family shares belongs on one patient's record",
        )


def _set_attributes(patient: Patient, data: PatientCreate | PatientUpdate, names: set[str]) -> None:
    """Copy the named optional attributes (already validated by the schema) onto the patient."""
    for name in ATTRIBUTES:
        if name in names:
            value = getattr(data, name)
            setattr(patient, name, stored_race(value) if name == "race" else value)


def create_patient(*, session: Session, clinic: Clinic, data: PatientCreate, now: datetime) -> Patient:
    """Add a patient to the clinic, recording consent in the ledger when given."""
    phone, language, timezone = _checked_fields(clinic=clinic, data=data)
    _refuse_shared_phone(session=session, clinic_id=clinic.id, phone=phone, patient_id=None)
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
    _set_attributes(patient, data, set(ATTRIBUTES))
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
    if patient.consent != ConsentStatus.REVOKED:
        record_consent(session=session, patient=patient, status=ConsentStatus.REVOKED, source=source, now=now)
    return cancel_unsent(session=session, patient_id=patient.id, reason="patient opted out", now=now)


def mark_undeliverable(*, session: Session, patient: Patient, reason: str, now: datetime) -> int:
    """Stop texting a number the carrier says cannot get texts; return how many texts were cancelled."""
    patient.undeliverable_reason = reason[:255]
    patient.updated_at = now
    session.add(patient)
    return cancel_unsent(
        session=session, patient_id=patient.id, reason=f"number cannot get texts: {reason}", now=now
    )


def get_patient(*, session: Session, clinic_id: uuid.UUID, patient_id: uuid.UUID) -> Patient:
    """One of the clinic's patients."""
    return get_owned(session, Patient, patient_id, clinic_id=clinic_id, name="patient")


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


def list_patients_upcoming(
    *, session: Session, clinic_id: uuid.UUID, now: datetime, limit: int, offset: int
) -> list[Patient]:
    """The clinic's patients who have a booked visit still ahead."""
    upcoming = select(Appointment.patient_id).where(
        Appointment.clinic_id == clinic_id,
        col(Appointment.starts_at) > now,
        Appointment.status != AppointmentStatus.CANCELLED,
    )
    query = (
        select(Patient)
        .where(Patient.clinic_id == clinic_id, col(Patient.id).in_(upcoming))
        .order_by(col(Patient.external_id))
        .offset(offset)
        .limit(limit)
    )
    return list(session.exec(query))


def update_patient(
    *, session: Session, clinic: Clinic, patient_id: uuid.UUID, data: PatientUpdate, now: datetime
) -> Patient:
    """Change a patient's name, phone, language, time zone or attributes (validated like a new patient)."""
    patient = get_patient(session=session, clinic_id=clinic.id, patient_id=patient_id)
    merged = PatientCreate(
        external_id=patient.external_id,
        given_name=patient.given_name if data.given_name is None else data.given_name,
        family_name=patient.family_name if data.family_name is None else data.family_name,
        phone=data.phone or patient.phone,
        language=data.language or patient.language,
        timezone=data.timezone or patient.timezone,
    )
    phone, language, timezone = _checked_fields(clinic=clinic, data=merged)
    if phone != patient.phone:
        _refuse_shared_phone(session=session, clinic_id=clinic.id, phone=phone, patient_id=patient.id)
    patient.given_name, patient.family_name = merged.given_name, merged.family_name
    patient.phone, patient.language, patient.timezone = phone, language, timezone
    _set_attributes(patient, data, data.model_fields_set)
    patient.updated_at = now
    session.add(patient)
    session.flush()
    return patient


def change_consent(
    *,
    session: Session,
    clinic_id: uuid.UUID,
    patient_id: uuid.UUID,
    status: ConsentStatus,
    source: str,
    now: datetime,
) -> Patient:
    """Record a consent decision; a revocation also cancels every unsent text for the patient."""
    patient = get_patient(session=session, clinic_id=clinic_id, patient_id=patient_id)
    if status == ConsentStatus.REVOKED:
        opt_out(session=session, patient=patient, source=source, now=now)
    else:
        record_consent(session=session, patient=patient, status=status, source=source, now=now)
    return patient


def consent_history(*, session: Session, clinic_id: uuid.UUID, patient_id: uuid.UUID) -> list[ConsentEvent]:
    """A patient's consent ledger, oldest first."""
    get_patient(session=session, clinic_id=clinic_id, patient_id=patient_id)
    query = (
        select(ConsentEvent)
        .where(ConsentEvent.patient_id == patient_id)
        .order_by(col(ConsentEvent.recorded_at), col(ConsentEvent.id))
    )
    return list(session.exec(query))


def create_appointment(
    *,
    session: Session,
    clinic_id: uuid.UUID,
    patient_id: uuid.UUID,
    starts_at: datetime,
    location: str,
    now: datetime,
) -> Appointment:
    """Book a visit for one of the clinic's patients; launched reminder campaigns it is in plan for it."""
    get_patient(session=session, clinic_id=clinic_id, patient_id=patient_id)
    if starts_at.tzinfo is None:
        raise Invalid("starts_at", "needs a time zone offset, for example 2026-03-03T09:00:00-05:00")
    appointment = Appointment(
        clinic_id=clinic_id, patient_id=patient_id, starts_at=starts_at, location=location, created_at=now
    )
    session.add(appointment)
    session.flush()
    plan_new_appointment(session=session, appointment=appointment, now=now)
    return appointment


def get_appointment(*, session: Session, clinic_id: uuid.UUID, appointment_id: uuid.UUID) -> Appointment:
    """One of the clinic's appointments."""
    return get_owned(session, Appointment, appointment_id, clinic_id=clinic_id, name="appointment")


def list_appointments(*, session: Session, clinic_id: uuid.UUID, patient_id: uuid.UUID) -> list[Appointment]:
    """A patient's appointments, earliest first."""
    get_patient(session=session, clinic_id=clinic_id, patient_id=patient_id)
    query = select(Appointment).where(Appointment.patient_id == patient_id)
    return list(session.exec(query.order_by(col(Appointment.starts_at))))


def reschedule_appointment(
    *,
    session: Session,
    clinic_id: uuid.UUID,
    appointment_id: uuid.UUID,
    starts_at: datetime | None,
    location: str | None,
    now: datetime,
) -> Appointment:
    """Move a visit; its unsent reminders are planned again for the new time (and re-worded)."""
    appointment = get_appointment(session=session, clinic_id=clinic_id, appointment_id=appointment_id)
    if appointment.status == AppointmentStatus.CANCELLED:
        raise Conflict("the appointment is cancelled; book a new one instead")
    if starts_at is not None:
        appointment.starts_at = starts_at
    if location is not None:
        appointment.location = location
    session.add(appointment)
    session.flush()
    replan_appointment(session=session, appointment=appointment, now=now)
    return appointment


def cancel_appointment(
    *, session: Session, clinic_id: uuid.UUID, appointment_id: uuid.UUID, now: datetime
) -> Appointment:
    """Cancel a visit and every reminder for it not yet sent."""
    appointment = get_appointment(session=session, clinic_id=clinic_id, appointment_id=appointment_id)
    appointment.status = AppointmentStatus.CANCELLED
    session.add(appointment)
    session.flush()
    cancel_for_appointment(session=session, appointment_id=appointment.id, now=now)
    return appointment


def current_consents(*, session: Session, patient_ids: list[uuid.UUID]) -> dict[uuid.UUID, ConsentEvent]:
    """The newest consent ledger entry of each patient that has one."""
    if not patient_ids:
        return {}
    events = session.exec(
        select(ConsentEvent)
        .where(col(ConsentEvent.patient_id).in_(patient_ids))
        .order_by(col(ConsentEvent.recorded_at), col(ConsentEvent.id))
    ).all()
    return {event.patient_id: event for event in events}  # the last one written per patient wins
