"""How far a STOP reaches: the clinic written to, or every clinic of its organisation (a setting).

A STOP to a clinic's number always stops that clinic's texts to the phone (carriers require it). Whether
it also stops the other clinics of the same organisation is a policy decision an operator makes with
OUTREACH_STOP_SCOPE: `clinic` (the default: each clinic keeps its own consent) or `organisation` (the
same phone is opted out at every clinic sharing the `organisation` name, each in its own ledger).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from outreach.clinics.models import Clinic
from outreach.patients.models import ConsentStatus, Patient
from outreach.patients.service import opt_out
from outreach.security.crypto import indexed


def stop_across_organisation(*, session: Session, patient: Patient, scope: str, now: datetime) -> int:
    """Opt the patient's phone out at the other clinics of their organisation; return how many."""
    if scope != "organisation":
        return 0
    clinic = session.get(Clinic, patient.clinic_id)
    if clinic is None or not clinic.organisation:
        return 0
    siblings = select(Clinic.id).where(
        col(Clinic.organisation) == clinic.organisation, col(Clinic.id) != clinic.id
    )
    others = session.exec(
        select(Patient).where(
            indexed(col(Patient.phone_hash), patient.phone),
            col(Patient.clinic_id).in_(siblings),
            col(Patient.consent) != ConsentStatus.REVOKED,
        )
    ).all()
    for other in others:
        opt_out(session=session, patient=other, source="patient replied STOP to another clinic", now=now)
    return len(others)
