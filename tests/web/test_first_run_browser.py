"""A newcomer's first run, in a real browser: `outreach up` on a port of their choosing, the demo whenever
they get to it, the simulator's replies answered on that same port."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from outreach.config import Settings
from tests.processes import outreach_env, running, wait_for
from tests.servers import free_port, serving
from tests.web.conftest import screenshot, sign_in_in_browser, web_app

pytestmark = pytest.mark.browser

_KEY = re.compile(r"Admin key:\s+(ok_\S+)")


def test_demo_from_a_fresh_start_on_a_non_default_port(page: Page, tmp_path: Path) -> None:
    port = free_port()
    env = outreach_env(database_url=f"sqlite:///{tmp_path}/outreach.db", broker_url="", data_dir=tmp_path)
    log = tmp_path / "logs" / "up.log"
    with running({"up": ["up", "--port", str(port)]}, env=env, logs=tmp_path / "logs"):
        wait_for(lambda: bool(_KEY.search(log.read_text())), timeout_s=90, what="`outreach up` printed keys")
        printed = log.read_text()
        assert f"http://127.0.0.1:{port}/app/simulator" in printed  # the URL it really listens on
        key = _KEY.search(printed)
        assert key is not None
        base = f"http://127.0.0.1:{port}"
        sign_in_in_browser(page, base, key.group(1), "/app/admin/campaigns")
        # The newcomer comes back much later than two minutes: the demo still works, by one button.
        page.get_by_role("link", name="Visit reminders (demo)").click()
        page.get_by_role("button", name="Send the demo now").click()
        expect(page.locator(".flash")).to_contain_text("Sending the demo: the reminders go from")
        page.goto(f"{base}/app/simulator")
        maria = page.locator("article.phone", has_text="Maria")
        expect(maria.locator(".bubble.received p").first).to_contain_text("Maria", timeout=60_000)
        maria.get_by_label("Reply as Maria").fill("ALTO")
        maria.get_by_role("button", name="Send").click()
        # Answered through the signed webhook on *this* port (it went to 8000 before, and failed).
        expect(maria.locator(".bubble.received p").last).to_contain_text("Ya no recibirá", timeout=15_000)
        screenshot(page, "first-run-simulator")


def test_docs_load_swagger_ui_from_this_server_only(page: Page, tmp_path: Path) -> None:
    port = free_port()
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path}/x.db", data_dir=tmp_path)
    elsewhere: list[str] = []
    here = f"http://127.0.0.1:{port}/"
    page.on("request", lambda r: None if r.url.startswith(here) else elsewhere.append(r.url))
    with serving(web_app(settings), port) as base:
        page.goto(f"{base}/docs")
        expect(page.get_by_role("heading", name=re.compile("outreach"))).to_be_visible(timeout=20_000)
        expect(page.get_by_text("/admin/clinic").first).to_be_visible()
        time.sleep(0.2)
        screenshot(page, "docs")
    assert elsewhere == []
