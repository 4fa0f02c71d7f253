"""The Reports page shows a campaign's journey outcomes under the funnel, with small cells withheld."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from outreach.clinics.models import Role
from tests.factories import create_clinic, create_key
from tests.reports.journey_seed import seed
from tests.web.conftest import sign_in


def test_the_reports_page_has_a_journeys_table(web_client: TestClient, engine: Engine) -> None:
    clinic = create_clinic(engine)
    campaign_id = seed(engine, clinic)
    sign_in(web_client, create_key(engine, clinic, Role.ADMIN))
    page = web_client.get("/app/admin/reports", params={"campaign_id": str(campaign_id), "by": "language"})
    assert page.status_code == 200, page.text
    section = page.text.split('id="journeys-title"')[1].split("</section>")[0]
    assert "Care journeys, by language" in section
    rows = {
        m[0]: re.findall(r'<td class="num">(.*?)</td>', m[1])
        for m in re.findall(r'<th scope="row">(.*?)</th>(.*?)</tr>', section, flags=re.S)
    }
    assert rows["English"] == ["13", "12", "12", "0", "11"]
    assert rows["Somali"][:2] == ["&lt;11", "&lt;11"]
    assert rows["All patients"] == ["28", "24", "12", "0", "11"]
