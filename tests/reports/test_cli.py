"""`outreach report outcomes`: a table for people, CSV for scripts, one line for a bad call."""

from __future__ import annotations

import csv
import io

from sqlalchemy.engine import Engine

from outreach.config import Settings
from tests.factories import create_clinic
from tests.processes import outreach_env
from tests.reports.seed import campaign, patients, texts
from tests.test_config_and_cli import _cli


def test_report_outcomes_table_and_csv(settings: Settings, engine: Engine) -> None:
    clinic = create_clinic(engine)
    en = patients(engine, clinic, 40, language="en")
    es = patients(engine, clinic, 40, language="es-MX")
    cid = campaign(engine, clinic, en + es)
    texts(engine, clinic, cid, en, status="delivered")
    texts(engine, clinic, cid, es[:20], status="delivered", language="es")
    texts(engine, clinic, cid, es[20:], status="failed", error_code=30007, language="es")
    env = outreach_env(
        database_url=settings.database_url, broker_url="filesystem://", data_dir=settings.data_dir
    )
    env["COLUMNS"] = "200"

    table = _cli("report", "outcomes", "--campaign", str(cid), "--by", "language", env=env)
    as_csv = _cli("report", "outcomes", "--campaign", str(cid), "--csv", env=env)
    bad = _cli("report", "outcomes", "--campaign", str(cid), "--by", "shoe_size", env=env)

    assert table.returncode == 0, table.stderr
    assert "Spanish" in table.stdout
    assert "50% (" in table.stdout
    assert "⚑" in table.stdout
    rows = list(
        csv.DictReader(io.StringIO("\n".join(x for x in as_csv.stdout.splitlines() if not x.startswith("#"))))
    )
    assert {r["group"]: r["delivered"] for r in rows} == {"en": "40", "es": "20", "__total__": "60"}
    assert bad.returncode == 2
    assert "by: 'shoe_size'" in bad.stderr
