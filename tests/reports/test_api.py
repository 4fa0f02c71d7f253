"""The report over HTTP: JSON, CSV (by Accept or format=csv) headed with column meanings, 422s, tenancy."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from outreach.clinics.models import Role
from tests.factories import auth, create_clinic, create_key
from tests.reports.seed import campaign, patients, replies, texts


def _clinic(engine: Engine):  # type: ignore[no-untyped-def]
    clinic = create_clinic(engine)
    en = patients(engine, clinic, 40, language="en")
    es = patients(engine, clinic, 40, language="es-MX")
    cid = campaign(engine, clinic, en + es)
    ok = texts(engine, clinic, cid, en, status="delivered")
    texts(engine, clinic, cid, es[:20], status="delivered", language="es")
    texts(engine, clinic, cid, es[20:], status="failed", error_code=30007, language="es")
    replies(engine, clinic, ok[:20], kind="confirm")
    return clinic, cid


def test_json_report_by_language(client: TestClient, engine: Engine) -> None:
    clinic, cid = _clinic(engine)
    headers = auth(create_key(engine, clinic))

    response = client.get("/admin/reports/outcomes", headers=headers, params={"campaign_id": str(cid)})

    assert response.status_code == 200
    body = response.json()
    groups = {g["key"]: g for g in body["groups"]}
    assert groups["es"]["label"] == "Spanish"
    assert groups["es"]["counts"]["delivered"] == 20
    # Reached: 40/40 against 20/40, 50 points, p < 0.001.
    assert groups["es"]["rates"]["reached"]["flag"]["reference"] == "en"
    assert groups["es"]["flagged"] == ["reached", "delivery"]
    assert body["rule"] == {
        "reply_days": 7,
        "threshold_pp": 10.0,
        "min_group_size": 30,
        "alpha": 0.05,
        "small_cell": 11,
    }
    assert body["total"]["counts"]["targeted"] == 80


def test_csv_by_accept_header_and_by_format(client: TestClient, engine: Engine) -> None:
    clinic, cid = _clinic(engine)
    headers = auth(create_key(engine, clinic))
    params = {"campaign_id": str(cid), "by": "language"}

    by_accept = client.get(
        "/admin/reports/outcomes", headers={**headers, "Accept": "text/csv"}, params=params
    )
    by_format = client.get("/admin/reports/outcomes", headers=headers, params={**params, "format": "csv"})

    assert by_accept.headers["content-type"].startswith("text/csv")
    assert by_accept.text == by_format.text.replace(
        by_format.text.splitlines()[0], by_accept.text.splitlines()[0]
    )
    lines = by_accept.text.splitlines()
    meanings = [line for line in lines if line.startswith("# ")]
    assert any(line.startswith("# reached_rate: Reached (delivered of targeted)") for line in meanings)
    assert any("<11" in line for line in meanings)
    rows = list(csv.DictReader(io.StringIO("\n".join(line for line in lines if not line.startswith("#")))))
    by_key = {r["group"]: r for r in rows}
    assert set(by_key) == {"en", "es", "__total__"}
    assert by_key["es"]["delivered"] == "20"
    assert by_key["es"]["reached_rate"] == "0.5000"
    assert by_key["es"]["reached_flag"].startswith("50.0 pp below en")
    assert by_key["en"]["reached_flag"] == ""


def test_bad_dimension_and_dates_are_422_and_other_clinics_404(client: TestClient, engine: Engine) -> None:
    clinic, cid = _clinic(engine)
    headers = auth(create_key(engine, create_clinic(engine, name="Other")))
    mine = auth(create_key(engine, clinic))

    bad_by = client.get("/admin/reports/outcomes", headers=mine, params={"by": "religion"})
    bad_dates = client.get(
        "/admin/reports/outcomes", headers=mine, params={"from": "2026-12-01", "to": "2026-11-01"}
    )
    theirs = client.get("/admin/reports/outcomes", headers=headers, params={"campaign_id": str(cid)})
    coordinator = client.get(
        "/admin/reports/outcomes", headers=auth(create_key(engine, clinic, Role.COORDINATOR))
    )

    assert bad_by.status_code == 422
    assert bad_by.json()["detail"][0]["field"] == "by"
    assert bad_dates.status_code == 422
    assert bad_dates.json()["detail"][0]["field"] == "to"
    assert theirs.status_code == 404
    assert coordinator.status_code == 403
