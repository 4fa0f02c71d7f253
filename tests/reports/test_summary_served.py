"""A large campaign's report over HTTP and on the pages: from its stored summary, saying as of when."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from outreach.config import Settings
from outreach.db import utcnow
from outreach.reports.periodic import refresh_campaigns
from tests.factories import auth, create_clinic, create_key
from tests.processes import outreach_env
from tests.reports.seed import campaign, patients, replies, texts
from tests.test_config_and_cli import _cli
from tests.web.conftest import sign_in, web_app


def _campaign(engine: Engine):  # type: ignore[no-untyped-def]
    clinic = create_clinic(engine, timezone="America/New_York")
    en = patients(engine, clinic, 30, language="en")
    es = patients(engine, clinic, 30, language="es-MX")
    cid = campaign(engine, clinic, en + es)
    ok = texts(engine, clinic, cid, en + es[:15], status="delivered")
    texts(engine, clinic, cid, es[15:], status="failed", error_code=30007, language="es")
    replies(engine, clinic, ok[:25], kind="confirm")
    return clinic, cid


def test_the_api_says_when_a_campaigns_counts_were_computed(client: TestClient, engine: Engine) -> None:
    clinic, cid = _campaign(engine)
    headers = auth(create_key(engine, clinic))
    params = {"campaign_id": str(cid)}
    before = client.get("/admin/reports/outcomes", headers=headers, params=params).json()
    built_at = utcnow()
    assert refresh_campaigns(engine=engine, now=built_at, reply_days=7, min_texts=60)["built"] == 1

    after = client.get("/admin/reports/outcomes", headers=headers, params=params).json()

    assert before["computed_at"] is None  # no summary yet: computed live
    assert datetime.fromisoformat(after["computed_at"]) == built_at
    assert after["groups"] == before["groups"]
    assert after["total"] == before["total"]
    csv_text = client.get("/admin/reports/outcomes", headers=headers, params={**params, "format": "csv"}).text
    assert f"# counts as of {built_at}" in csv_text
    ranged = client.get("/admin/reports/outcomes", headers=headers, params={"from": "2026-11-01"}).json()
    assert ranged["computed_at"] is None  # a clinic's date range is always live


def test_the_reports_page_and_the_campaign_page_say_as_of(settings: Settings, engine: Engine) -> None:
    clinic, cid = _campaign(engine)
    refresh_campaigns(engine=engine, now=datetime(2026, 12, 3, 17, 5, tzinfo=UTC), reply_days=7, min_texts=1)
    with TestClient(web_app(settings), base_url="http://127.0.0.1:8000") as web:
        sign_in(web, create_key(engine, clinic))
        report = web.get("/app/admin/reports", params={"campaign_id": str(cid)})
        page = web.get(f"/app/admin/campaigns/{cid}")

    assert report.status_code == 200
    assert "As of <strong>Thu 03 Dec 2026, 12:05 (America/New_York)</strong>" in report.text
    assert page.status_code == 200
    assert "As of Thu 03 Dec 2026, 12:05 (America/New_York)." in page.text


def test_the_cli_builds_summaries_and_says_as_of(settings: Settings, engine: Engine) -> None:
    _, cid = _campaign(engine)
    env = outreach_env(
        database_url=settings.database_url, broker_url="filesystem://", data_dir=settings.data_dir
    )
    env["COLUMNS"] = "200"

    built = _cli("report", "summaries", env=env)
    table = _cli("report", "outcomes", "--campaign", str(cid), env=env)

    assert built.returncode == 0, built.stderr
    assert "built: 0" in built.stdout  # 60 texts: reported live, no summary
    assert "live: 1" in built.stdout
    assert "Counts as of" not in table.stdout
    refresh_campaigns(engine=engine, now=utcnow(), reply_days=7, min_texts=1)
    assert "Counts as of" in _cli("report", "outcomes", "--campaign", str(cid), env=env).stdout
