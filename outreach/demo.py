"""The demo clinic: patients in several languages, a reminder campaign ready to launch, and fresh keys.

Running it again never duplicates anything: it finds the clinic, its patients and its campaign by name,
moves the demo visits so the campaign's reminders still fall a few minutes ahead, and mints new keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from rich.console import Console
from sqlalchemy import true, update
from sqlmodel import Session, col, select

from outreach.auth import authenticate, mint_key
from outreach.campaigns.enrollment import enroll
from outreach.campaigns.models import Campaign, CampaignKind, CampaignStatus
from outreach.campaigns.schemas import CampaignCreate, EnrollIn, StepIn
from outreach.campaigns.service import create_campaign
from outreach.clinics.models import ApiKey, Clinic, Role
from outreach.clinics.service import create_clinic
from outreach.db import utcnow
from outreach.inbox.coordinator_queue import set_profile
from outreach.inbox.schemas import ProfileIn
from outreach.patients.models import Appointment, AppointmentStatus, ConsentStatus, Patient
from outreach.patients.schemas import ConsentIn, PatientCreate
from outreach.patients.service import create_patient

DEMO_CLINIC = "Riverside Community Clinic"
DEMO_CAMPAIGN = "Visit reminders (demo)"
DEMO_COORDINATOR = "Rosa (demo coordinator)"
DEMO_COORDINATOR_LANGUAGES = ["en", "es"]
DEMO_KEY_NAMES = ("demo admin", "demo coordinator")

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

# The campaign reminds patients a day ahead, and a reminder whose moment has passed is skipped, never sent
# late. So the demo visits are tomorrow, a little after now: launched within a couple of minutes, the
# reminders arrive on the phones a few seconds apart, instead of tomorrow.
REMINDER_LEAD = timedelta(hours=24)
FIRST_REMINDER_IN = timedelta(minutes=2)
REMINDER_SPACING = timedelta(seconds=3)
SEND_NOW_IN = timedelta(seconds=5)  # "Send the demo now": the first reminder is due a few seconds later


@dataclass(frozen=True)
class DemoSeed:
    """What the demo created: the clinic, its campaign and freshly minted keys."""

    clinic: Clinic
    admin_key: str
    coordinator_key: str
    patients: int
    campaign: Campaign | None = None
    first_reminder_at: datetime | None = None


def seed_demo(*, session: Session) -> DemoSeed:
    """Create the demo clinic once; on every run refresh the draft campaign's visits and mint new keys."""
    now = utcnow()
    clinic = session.exec(select(Clinic).where(Clinic.name == DEMO_CLINIC)).first()
    if clinic is None:
        clinic = _create_clinic(session=session, now=now)
    # Texts go at any hour in the demo (the patients span Honolulu to New York, and a newcomer should
    # see every phone light up); a real clinic keeps its quiet hours.
    clinic.quiet_start = clinic.quiet_end = time(0, 0)
    session.add(clinic)
    campaign, first = _demo_campaign(session=session, clinic=clinic, now=now)
    # Only the keys an earlier run minted are replaced; a key a person minted for this clinic stays valid.
    session.execute(
        update(ApiKey)
        .where(
            col(ApiKey.clinic_id) == clinic.id,
            col(ApiKey.revoked_at).is_(None),
            col(ApiKey.name).in_(DEMO_KEY_NAMES),
        )
        .values(revoked_at=now)
    )
    admin = mint_key(session=session, clinic_id=clinic.id, role=Role.ADMIN, name=DEMO_KEY_NAMES[0])
    coordinator = mint_key(
        session=session, clinic_id=clinic.id, role=Role.COORDINATOR, name=DEMO_KEY_NAMES[1]
    )
    principal = authenticate(session=session, presented=coordinator)
    assert principal is not None  # just minted
    profile = ProfileIn(display_name=DEMO_COORDINATOR, languages=DEMO_COORDINATOR_LANGUAGES)
    set_profile(session=session, clinic_id=clinic.id, key_id=principal.key_id, data=profile, now=now)
    demo_ids = [row[0] for row in DEMO_PATIENTS]
    count = len(
        session.exec(
            select(Patient.id).where(Patient.clinic_id == clinic.id, col(Patient.external_id).in_(demo_ids))
        ).all()
    )
    return DemoSeed(
        clinic=clinic,
        admin_key=admin,
        coordinator_key=coordinator,
        patients=count,
        campaign=campaign,
        first_reminder_at=first,
    )


def _create_clinic(*, session: Session, now: datetime) -> Clinic:
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
        session.add(
            Appointment(
                clinic_id=clinic.id,
                patient_id=patient.id,
                starts_at=now + 2 * REMINDER_LEAD,
                location="Main St",
            )
        )
    session.flush()
    return clinic


def _demo_campaign(*, session: Session, clinic: Clinic, now: datetime) -> tuple[Campaign, datetime | None]:
    """The demo's reminder campaign; while it is a draft, its visits move so it can still be launched."""
    campaign = session.exec(
        select(Campaign).where(Campaign.clinic_id == clinic.id, Campaign.name == DEMO_CAMPAIGN)
    ).first()
    if campaign is None:
        data = CampaignCreate(
            name=DEMO_CAMPAIGN,
            kind=CampaignKind.REMINDER,
            steps=[
                StepIn(
                    template="appointment_reminder", offset_minutes=-int(REMINDER_LEAD.total_seconds() // 60)
                )
            ],
        )
        campaign = create_campaign(session=session, clinic=clinic, data=data, now=now)
    if campaign.status != CampaignStatus.DRAFT:
        return campaign, None
    first = _move_visits(session=session, clinic=clinic, now=now)
    enroll(session=session, clinic_id=clinic.id, campaign_id=campaign.id, data=EnrollIn(all=True), now=now)
    return campaign, first


def is_demo_campaign(campaign: Campaign) -> bool:
    """The demo's own reminder campaign (the web app offers "Send the demo now" on it)."""
    return campaign.name == DEMO_CAMPAIGN


def send_demo_now(*, session: Session, clinic: Clinic, campaign: Campaign, now: datetime) -> datetime:
    """Move the demo visits so the reminders fall due in seconds (whenever the newcomer gets here); return
    the first reminder's moment. The caller launches the campaign in the same transaction."""
    demo_ids = [row[0] for row in DEMO_PATIENTS]
    return _move_visits(session=session, clinic=clinic, now=now, lead=SEND_NOW_IN, only=demo_ids)


def _move_visits(
    *,
    session: Session,
    clinic: Clinic,
    now: datetime,
    lead: timedelta = FIRST_REMINDER_IN,
    only: list[str] | None = None,
) -> datetime:
    """Put each demo patient's next visit tomorrow, just after now, a few seconds apart; return the first
    reminder's moment."""
    first = (now + lead).replace(microsecond=0)
    visits = session.exec(
        select(Appointment, Patient.external_id)
        .join(Patient, col(Patient.id) == Appointment.patient_id)
        .where(
            Appointment.clinic_id == clinic.id,
            col(Appointment.status).in_([AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED]),
        )
        .where(col(Patient.external_id).in_(only) if only is not None else true())
        .order_by(col(Patient.external_id), col(Appointment.starts_at))
    ).all()
    seen: set[str] = set()
    for visit, external_id in visits:
        if external_id in seen:
            continue  # one demo visit per patient; any others stay where they are
        visit.starts_at = first + REMINDER_LEAD + REMINDER_SPACING * len(seen)
        seen.add(external_id)
        session.add(visit)
    session.flush()
    return first


def print_demo(console: Console, seed: DemoSeed, *, base_url: str) -> None:
    """Tell a newcomer where to go, which keys to use, and what to try in the first two minutes."""
    app = f"{base_url}/app"
    console.print(f"[bold]{seed.clinic.name}[/] with {seed.patients} demo patients", soft_wrap=True)
    console.print(f"  Web app:          {app}/  (sign in with a key below)", soft_wrap=True)
    console.print(f"  Phone simulator:  {app}/simulator", soft_wrap=True)
    console.print(f"  API docs:         {base_url}/docs", soft_wrap=True)
    console.print(f"  Health:           {base_url}/health", soft_wrap=True)
    console.print(f"  Clinic id:        {seed.clinic.id}", highlight=False, soft_wrap=True)
    console.print(f"  Admin key:        [green]{seed.admin_key}[/]", highlight=False, soft_wrap=True)
    console.print(f"  Coordinator key:  [green]{seed.coordinator_key}[/]", highlight=False, soft_wrap=True)
    if seed.campaign is None:
        return
    if seed.first_reminder_at is None:
        console.print(
            f"  Campaign “{seed.campaign.name}” was launched earlier ({seed.campaign.status}).",
            soft_wrap=True,
        )
        return
    at = seed.first_reminder_at.strftime("%H:%M:%S UTC")
    # Short lines, never wrapped: `make run` output may be 80 columns, and a wrapped key cannot be copied.
    steps = (
        f"1. Admin key → Campaigns → “{seed.campaign.name}”",
        "   → “Send the demo now” (any time; it moves the demo visits",
        f"   and launches), or Launch before {at}.",
        f"2. Watch them arrive in ten languages: {app}/simulator",
        "3. Reply ALTO from Maria's phone (opted out, answered in Spanish)",
        "   and “I have chest pain” from James's phone.",
        f"4. Coordinator key → {app}/queue:",
        "   the urgent thread is first;",
        "   Maria's opt-out is under “Handled automatically”.",
        "`outreach demo` again prints new demo keys; keys you minted stay.",
    )
    console.print("[bold]Try it[/]", soft_wrap=True)
    for line in steps:
        console.print(f"  {line}", highlight=False, soft_wrap=True)
