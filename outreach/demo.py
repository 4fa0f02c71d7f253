"""The demo clinic: a handful of patients in several languages, and fresh keys on every run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from rich.console import Console
from sqlalchemy import update
from sqlmodel import Session, col, select

from outreach.auth import mint_key
from outreach.clinics.models import ApiKey, Clinic, Role
from outreach.clinics.service import create_clinic
from outreach.db import utcnow
from outreach.patients.models import Appointment, ConsentStatus, Patient
from outreach.patients.schemas import ConsentIn, PatientCreate
from outreach.patients.service import create_patient

DEMO_CLINIC = "Riverside Community Clinic"

# Fictional 555-01xx numbers; names and languages of a typical community-clinic panel.
DEMO_PATIENTS = [
    ("DEMO-001", "Maria", "Gonzalez", "+12025550101", "es-MX", "America/Chicago"),
    ("DEMO-002", "Linh", "Nguyen", "+12025550102", "vi", "America/Los_Angeles"),
    ("DEMO-003", "Wei", "Chen", "+12025550103", "zh-TW", "America/New_York"),
    ("DEMO-004", "Amina", "Hassan", "+12025550104", "ar", "America/Detroit"),
    ("DEMO-005", "Faadumo", "Ali", "+12025550105", "so", "America/Chicago"),
    ("DEMO-006", "Jean", "Pierre", "+12025550106", "ht", "America/New_York"),
    ("DEMO-007", "James", "Walker", "+12025550107", "en-US", "America/Denver"),
    ("DEMO-008", "Ji-woo", "Park", "+12025550108", "ko", "America/Los_Angeles"),
    ("DEMO-009", "Olena", "Kovalenko", "+12025550109", "uk", "America/New_York"),
    ("DEMO-010", "Jose", "Santos", "+12025550110", "fil", "Pacific/Honolulu"),
]


@dataclass(frozen=True)
class DemoSeed:
    """What the demo created: the clinic and freshly minted keys."""

    clinic: Clinic
    admin_key: str
    coordinator_key: str
    patients: int


def seed_demo(*, session: Session) -> DemoSeed:
    """Create the demo clinic once; on every run revoke the old demo keys and mint new ones."""
    now = utcnow()
    clinic = session.exec(select(Clinic).where(Clinic.name == DEMO_CLINIC)).first()
    if clinic is None:
        clinic = create_clinic(
            session=session, name=DEMO_CLINIC, phone="+12025550100", timezone="America/Chicago"
        )
        for external_id, given, family, phone, language, tz in DEMO_PATIENTS:
            patient = create_patient(
                session=session,
                clinic=clinic,
                data=PatientCreate(
                    external_id=external_id,
                    given_name=given,
                    family_name=family,
                    phone=phone,
                    language=language,
                    timezone=tz,
                    consent=ConsentIn(status=ConsentStatus.GRANTED, source="demo intake form"),
                ),
                now=now,
            )
            start = (now + timedelta(days=3)).replace(hour=16, minute=30, second=0, microsecond=0)
            session.add(
                Appointment(clinic_id=clinic.id, patient_id=patient.id, starts_at=start, location="Main St")
            )
    session.execute(
        update(ApiKey)
        .where(col(ApiKey.clinic_id) == clinic.id, col(ApiKey.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    admin = mint_key(session=session, clinic_id=clinic.id, role=Role.ADMIN, name="demo admin")
    coordinator = mint_key(
        session=session, clinic_id=clinic.id, role=Role.COORDINATOR, name="demo coordinator"
    )
    count = len(session.exec(select(Patient.id).where(Patient.clinic_id == clinic.id)).all())
    return DemoSeed(clinic=clinic, admin_key=admin, coordinator_key=coordinator, patients=count)


def print_demo(console: Console, seed: DemoSeed, *, base_url: str) -> None:
    """Tell a newcomer where to go and which keys to use."""
    console.print(f"[bold]{seed.clinic.name}[/] with {seed.patients} demo patients")
    console.print(f"  API docs:        {base_url}/docs")
    console.print(f"  Simulator phones: {base_url}/simulator/phones")
    console.print(f"  Health:          {base_url}/health")
    console.print(f"  Admin key:       [green]{seed.admin_key}[/]", highlight=False)
    console.print(f"  Coordinator key: [green]{seed.coordinator_key}[/]", highlight=False)
