"""Web app fixtures: the API with the web app installed, served by uvicorn for the browser tests."""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy.engine import Engine
from sqlmodel import select

from outreach import web
from outreach.campaigns.models import Campaign, CampaignKind
from outreach.campaigns.schemas import CampaignCreate, StepIn
from outreach.campaigns.service import create_campaign
from outreach.clinics.models import Clinic
from outreach.config import Settings
from outreach.db import engine_for, session_scope, utcnow
from outreach.demo import DemoSeed, seed_demo
from outreach.main import create_app
from outreach.messaging.scheduler import claim_due
from outreach.messaging.sender import SendPolicy, send
from outreach.messaging.service import create_one_off
from outreach.patients.models import Patient
from outreach.sms.simulator import SimulatorGateway
from tests.servers import free_port, serving

CHROMIUM = Path("/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() == "true"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives headless Chromium against the served app")


def web_app(settings: Settings) -> FastAPI:
    """The API with the web app mounted, as create_app will build it once web.install is wired in."""
    app = create_app(settings)
    web.install(app)
    return app


def csrf_of(page: Response) -> str:
    """The CSRF token a rendered page carries in its forms."""
    found = _CSRF.search(page.text)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(client: TestClient, key: str, *, next_url: str | None = None) -> Response:
    """Open the sign-in page, then post the key with the page's CSRF token (not following the redirect)."""
    page = client.get("/app/sign-in", params={"next": next_url} if next_url else None)
    form = {"csrf_token": csrf_of(page), "api_key": key, "next": next_url or ""}
    answer: Response = client.post("/app/sign-in", data=form, follow_redirects=False)
    return answer


@pytest.fixture
def web_client(settings: Settings) -> Iterator[TestClient]:
    """The web app in-process, on SQLite and PostgreSQL."""
    with TestClient(web_app(settings), base_url="http://127.0.0.1:8000") as client:
        yield client


@pytest.fixture
def served_settings(settings: Settings) -> Settings:
    """Settings whose public URL is a free local port, so signed webhooks reach the served app."""
    return settings.model_copy(update={"public_base_url": f"http://127.0.0.1:{free_port()}"})


@pytest.fixture
def served(served_settings: Settings) -> Iterator[str]:
    """The web app under uvicorn on 127.0.0.1; yields its base URL."""
    port = int(served_settings.public_base_url.rsplit(":", 1)[1])
    with serving(web_app(served_settings), port) as base_url:
        yield base_url


CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """Debian's headless Chromium driven by Playwright; a loud skip (a failure in CI) when it is missing."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: `apt-get install -y chromium` or the browser tests do not run"
        if IN_CI:
            pytest.fail(f"CI=true and {message}", pytrace=False)
        pytest.skip(f"!!! {message}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    """A fresh browser tab at laptop size with no cookies."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    context.close()


def sign_in_in_browser(page: Page, base_url: str, key: str, path: str = "/app/") -> None:
    """Type the key into the sign-in form as a person would."""
    page.goto(f"{base_url}/app/sign-in?next={path}")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}{path}*")


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot into test-artifacts/ for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.evaluate("document.activeElement && document.activeElement.blur()")  # no focus ring in the picture
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@dataclass(frozen=True)
class Live:
    """The served web app for a browser test: its URL, settings and database engine."""

    url: str
    settings: Settings
    engine: Engine


@pytest.fixture
def live(sqlite_template: Path, tmp_path: Path) -> Iterator[Live]:
    """The app under uvicorn on a free loopback port, on a fresh copy of the migrated SQLite database."""
    path = tmp_path / "outreach.db"
    shutil.copy(sqlite_template, path)
    port = free_port()
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{path}",
        data_dir=tmp_path / "var",
        public_base_url=f"http://127.0.0.1:{port}",
    )
    with serving(web_app(settings), port) as url:
        yield Live(url=url, settings=settings, engine=engine_for(settings.database_url))


def text_patient(engine: Engine, patient_id: uuid.UUID, body: str) -> None:
    """Send a clinic text through the real outbox and simulator gateway, as the workers would."""
    with session_scope(engine) as session:
        patient = session.get(Patient, patient_id)
        assert patient is not None
        message = create_one_off(
            session=session,
            clinic_id=patient.clinic_id,
            patient_id=patient_id,
            body=body,
            send_at=None,
            language=None,
            now=utcnow(),
        )
    with session_scope(engine) as session:
        claim_due(session=session, now=utcnow(), limit=1000)
    assert (
        send(engine=engine, message_id=message.id, gateway=SimulatorGateway(engine), policy=SendPolicy())
        == "sent"
    )


def demo_clinic(engine: Engine) -> DemoSeed:
    """The demo clinic a newcomer gets from `outreach demo`, with quiet hours off (no wall-clock flakes)."""
    with session_scope(engine) as session:
        seed = seed_demo(session=session)
        seed.clinic.quiet_start = seed.clinic.quiet_end = time(0, 0)
        session.add(seed.clinic)
        return seed


def demo_patient(engine: Engine, seed: DemoSeed, external_id: str) -> Patient:
    """One of the demo clinic's patients by its clinic ID (DEMO-001 is Maria, Spanish)."""
    with session_scope(engine) as session:
        found = session.exec(
            select(Patient).where(Patient.clinic_id == seed.clinic.id, Patient.external_id == external_id)
        ).one()
        return found


_UNLABELLED = """() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => el.type !== 'hidden' && el.labels.length === 0 && !el.getAttribute('aria-label'))
  .map(el => el.name || el.id || el.outerHTML.slice(0, 60))"""


def assert_accessible_basics(page: Page) -> None:
    """Every field has a label, and the first Tab lands on the skip link (keyboard users skip the menu)."""
    assert page.evaluate(_UNLABELLED) == []
    page.goto(page.url)  # a fresh load: focus starts at the top of the page
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to content"


def deliver_due(engine: Engine, *, until: datetime) -> int:
    """Send every text due by `until` through the simulator gateway, as the scheduler and workers would."""
    with session_scope(engine) as session:
        due = claim_due(session=session, now=until, limit=10_000)
    gateway = SimulatorGateway(engine)
    return sum(
        send(engine=engine, message_id=message_id, gateway=gateway, policy=SendPolicy()) == "sent"
        for message_id, _segments in due
    )


def reminder_campaign(engine: Engine, clinic_id: uuid.UUID, name: str = "Visit reminders") -> Campaign:
    """A draft one-step reminder a day before each visit, with the built-in text."""
    data = CampaignCreate(name=name, kind=CampaignKind.REMINDER, steps=[StepIn(offset_minutes=-1440)])
    with session_scope(engine) as session:
        clinic = session.get_one(Clinic, clinic_id)
        return create_campaign(session=session, clinic=clinic, data=data, now=utcnow())
