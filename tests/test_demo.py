"""The demo a newcomer gets from `make run`: nothing doubles on a re-run, and the campaign can launch now."""

from __future__ import annotations

from datetime import timedelta

from rich.console import Console
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from outreach.auth import authenticate
from outreach.campaigns import materialize
from outreach.campaigns.launch import get_launch, launch
from outreach.campaigns.launch import report as report_of
from outreach.campaigns.models import Campaign, CampaignStatus, Enrollment
from outreach.clinics.models import ApiKey, Clinic, Role
from outreach.db import session_scope, utcnow
from outreach.demo import DEMO_CAMPAIGN, print_demo, seed_demo
from outreach.inbox.coordinator_queue import get_profile
from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.patients.models import Appointment, Patient


def _count(session: Session, model: type[object]) -> int:
    return int(session.exec(select(func.count()).select_from(model)).one())


def test_running_the_demo_twice_duplicates_nothing_and_mints_fresh_keys(engine: Engine) -> None:
    with session_scope(engine) as session:
        first = seed_demo(session=session)
    with session_scope(engine) as session:
        second = seed_demo(session=session)
    assert first.clinic.id == second.clinic.id
    assert first.campaign is not None
    assert second.campaign is not None
    assert first.campaign.id == second.campaign.id
    with Session(engine) as session:
        assert _count(session, Clinic) == 1
        assert _count(session, Patient) == 10
        assert _count(session, Appointment) == 10
        assert _count(session, Campaign) == 1
        assert _count(session, Enrollment) == 10
        live_keys = session.exec(select(ApiKey.role).where(col(ApiKey.revoked_at).is_(None))).all()
        assert sorted(live_keys) == [Role.ADMIN, Role.COORDINATOR]
        assert authenticate(session=session, presented=first.coordinator_key) is None  # revoked
        coordinator = authenticate(session=session, presented=second.coordinator_key)
        assert coordinator is not None
        assert coordinator.role == Role.COORDINATOR
        profile = get_profile(session=session, clinic_id=second.clinic.id, key_id=coordinator.key_id)
        assert profile.display_name == "Rosa (demo coordinator)"
        assert profile.languages == ["en", "es"]


def test_the_demo_campaign_launched_now_texts_every_phone_within_minutes(engine: Engine) -> None:
    with session_scope(engine) as session:
        seed = seed_demo(session=session)
    assert seed.campaign is not None
    launched_at = utcnow() + timedelta(seconds=60)  # the newcomer takes a minute to find the button
    with session_scope(engine) as session:
        launch(session=session, clinic_id=seed.clinic.id, campaign_id=seed.campaign.id, now=launched_at)
    materialize.run(engine=engine, now=launched_at)  # the worker's first window, with the default lookahead
    with Session(engine) as session:
        report = report_of(
            get_launch(session=session, clinic_id=seed.clinic.id, campaign_id=seed.campaign.id)
        )
    assert (report.scheduled, report.skipped) == (10, {})
    with Session(engine) as session:
        rows = session.exec(
            select(OutboundMessage).where(OutboundMessage.campaign_id == seed.campaign.id)
        ).all()
        languages = {row.language for row in rows}
    assert all(launched_at < row.send_at < utcnow() + timedelta(minutes=5) for row in rows)
    assert {"es", "vi", "ar", "so", "en"} <= languages
    assert all(row.status == MessageStatus.SCHEDULED for row in rows)
    with session_scope(engine) as session:
        again = seed_demo(session=session)  # a re-run after launch leaves the launched campaign alone
    assert again.campaign is not None
    assert again.campaign.status == CampaignStatus.LAUNCHED
    assert again.first_reminder_at is None


def test_the_demo_prints_both_keys_and_where_to_go(engine: Engine) -> None:
    with session_scope(engine) as session:
        seed = seed_demo(session=session)
    console = Console(record=True, width=120)
    print_demo(console, seed, base_url="http://127.0.0.1:8000")
    text = console.export_text()
    assert seed.admin_key in text
    assert seed.coordinator_key in text
    assert "http://127.0.0.1:8000/app/simulator" in text
    assert "http://127.0.0.1:8000/app/queue" in text
    assert DEMO_CAMPAIGN in text
    assert "ALTO" in text
