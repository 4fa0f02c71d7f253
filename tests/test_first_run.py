"""First run: the port carries through, the demo leaves a person's own keys and patients alone, and the
clinic's id can be found."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from rich.console import Console
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from outreach import listening
from outreach.auth import authenticate, mint_key
from outreach.campaigns import materialize
from outreach.campaigns.launch import get_launch, launch
from outreach.campaigns.launch import report as report_of
from outreach.clinics.models import Clinic, Role
from outreach.config import Settings
from outreach.db import session_scope, utcnow
from outreach.demo import print_demo, seed_demo, send_demo_now
from outreach.main import create_app
from outreach.messaging.models import OutboundMessage
from tests.factories import auth, create_clinic, create_key, create_patient
from tests.processes import outreach_env


def test_the_port_becomes_the_url_the_service_calls_itself_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(listening.ENV, "set so that teardown removes what carry_port writes")
    monkeypatch.delenv(listening.ENV)
    monkeypatch.chdir(Path(__file__).parent)  # no .env here
    assert listening.carry_port(host="0.0.0.0", port=8101) == "http://127.0.0.1:8101"
    assert Settings(_env_file=None).public_base_url == "http://127.0.0.1:8101"


def test_an_operators_public_url_wins_over_the_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(listening.ENV, "https://outreach.example.org")
    assert listening.carry_port(host="127.0.0.1", port=8101) == "https://outreach.example.org"


def test_rerunning_the_demo_keeps_a_persons_keys_and_patients(engine: Engine) -> None:
    with session_scope(engine) as session:
        first = seed_demo(session=session)
        own = mint_key(session=session, clinic_id=first.clinic.id, role=Role.ADMIN, name="Dana at the desk")
    create_patient(engine, first.clinic, given_name="Zoe", phone="+12025550199", language="en")
    with session_scope(engine) as session:
        again = seed_demo(session=session)
    with Session(engine) as session:
        assert authenticate(session=session, presented=own) is not None  # still valid
        assert authenticate(session=session, presented=first.admin_key) is None  # the old demo key is not
        assert authenticate(session=session, presented=again.admin_key) is not None
    assert again.patients == 10  # Zoe is the clinic's own patient, not one of the ten demo patients


def test_send_the_demo_now_works_long_after_start(engine: Engine) -> None:
    with session_scope(engine) as session:
        seed = seed_demo(session=session)
    assert seed.campaign is not None
    later = utcnow() + timedelta(hours=3)  # the newcomer comes back after lunch
    with session_scope(engine) as session:
        clinic = session.get_one(Clinic, seed.clinic.id)
        first = send_demo_now(session=session, clinic=clinic, campaign=seed.campaign, now=later)
        launch(session=session, clinic_id=clinic.id, campaign_id=seed.campaign.id, now=later)
    materialize.run(engine=engine, now=later)  # the launch worker's first window
    with Session(engine) as session:
        found = get_launch(session=session, clinic_id=seed.clinic.id, campaign_id=seed.campaign.id)
        report = report_of(found)
    assert (report.scheduled, report.skipped) == (10, {})
    with Session(engine) as session:
        rows = session.exec(select(OutboundMessage).where(OutboundMessage.campaign_id == seed.campaign.id))
        due = sorted(row.send_at for row in rows)
    assert first == due[0]
    assert later < due[0] <= later + timedelta(seconds=6)
    assert due[-1] <= later + timedelta(seconds=6 + 9 * 3)  # ten reminders, three seconds apart


def test_the_demo_prints_the_clinic_id_and_the_url_given(engine: Engine) -> None:
    with session_scope(engine) as session:
        seed = seed_demo(session=session)
    console = Console(record=True, width=120)
    print_demo(console, seed, base_url="http://127.0.0.1:8101")
    text = console.export_text()
    assert str(seed.clinic.id) in text
    assert "http://127.0.0.1:8101/app/simulator" in text
    assert "Send the demo now" in text


def test_admin_clinic_shows_the_callers_clinic_id(settings: Settings, engine: Engine) -> None:
    mine = create_clinic(engine, name="Harbor Health")
    create_clinic(engine, name="Elsewhere")
    with TestClient(create_app(settings)) as client:
        answer = client.get("/admin/clinic", headers=auth(create_key(engine, mine)))
        refused = client.get("/admin/clinic", headers=auth(create_key(engine, mine, Role.COORDINATOR)))
    assert answer.status_code == 200
    assert (answer.json()["id"], answer.json()["name"]) == (str(mine.id), "Harbor Health")
    assert refused.status_code == 403


def test_cli_clinics_lists_ids_names_and_patients(settings: Settings, engine: Engine) -> None:
    harbor = create_clinic(engine, name="Harbor Health")
    create_patient(engine, harbor)
    create_patient(engine, harbor)
    env = outreach_env(
        database_url=settings.database_url, broker_url="filesystem://", data_dir=settings.data_dir
    )
    result = subprocess.run(
        [sys.executable, "-m", "outreach", "clinics"],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert f"{harbor.id}  Harbor Health  (2 patients)" in result.stdout


def test_demo_prints_the_url_a_running_server_noted(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, public_base_url="http://127.0.0.1:8000")
    listening.record(settings, "http://127.0.0.1:1")  # nothing listens on port 1
    assert listening.serving_url(settings) == "http://127.0.0.1:8000"
