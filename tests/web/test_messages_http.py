"""The messages page: filters by status, kind, campaign and date; reasons in words; the same list as CSV;
a filter it does not know is refused, never ignored."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from outreach.db import session_scope, utcnow
from outreach.messaging.models import MessageStatus, OutboundMessage
from tests.factories import create_clinic, create_key, create_patient
from tests.web.conftest import sign_in


def _text(
    engine: Engine, patient_id: uuid.UUID, clinic_id: uuid.UUID, *, days_ago: int, **fields: Any
) -> None:
    with session_scope(engine) as session:
        at = utcnow() - timedelta(days=days_ago)
        session.add(
            OutboundMessage(
                clinic_id=clinic_id,
                patient_id=patient_id,
                send_at=at,
                language="es",
                body=f"texto {days_ago}",
                **fields,
            )
        )


def test_failed_texts_of_last_week_with_their_reasons_and_as_csv(
    web_client: TestClient, engine: Engine
) -> None:
    clinic = create_clinic(engine, timezone="America/Chicago")
    ana = create_patient(engine, clinic, external_id="MRN-7", given_name="Ana", family_name="Lopez")
    reason = "the number cannot get texts (landline or unreachable)"
    _text(
        engine,
        ana.id,
        clinic.id,
        days_ago=2,
        status=MessageStatus.FAILED,
        error_code=30006,
        error_reason=reason,
    )
    _text(engine, ana.id, clinic.id, days_ago=3, status=MessageStatus.DELIVERED)
    _text(engine, ana.id, clinic.id, days_ago=20, status=MessageStatus.FAILED, error_reason="old failure")
    _text(engine, ana.id, clinic.id, days_ago=4, status=MessageStatus.HELD, error_reason="campaign_paused")
    sign_in(web_client, create_key(engine, clinic))
    since = (utcnow() - timedelta(days=7)).date().isoformat()
    page = web_client.get("/app/admin/messages", params={"status": "failed", "since": since})
    assert page.status_code == 200
    body = page.text.split("<tbody>")[1]
    assert body.count("<tr>") == 1  # the failure of 20 days ago is outside the week
    assert reason in body
    held = web_client.get("/app/admin/messages", params={"status": "held"}).text
    assert "held while the campaign is paused" in held
    export = web_client.get("/app/admin/messages.csv", params={"status": "failed", "since": since})
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [(r["patient_mrn"], r["status"], r["reason"], r["text"]) for r in rows] == [
        ("MRN-7", "failed", reason, "texto 2")
    ]
    assert "+1202" not in export.text  # no phone numbers in the export


def test_an_unknown_filter_is_refused(web_client: TestClient, engine: Engine) -> None:
    clinic = create_clinic(engine)
    sign_in(web_client, create_key(engine, clinic))
    typo = web_client.get("/app/admin/messages", params={"stauts": "failed"})
    assert typo.status_code == 422
    assert "&#39;stauts&#39; is not a filter here" in typo.text
    assert web_client.get("/app/admin/messages.csv", params={"stauts": "failed"}).status_code == 422
    assert web_client.get("/app/admin/messages", params={"status": "lost"}).status_code == 422
    assert web_client.get("/app/admin/messages", params={"since": "last week"}).status_code == 422


def test_another_clinics_texts_are_not_listed(web_client: TestClient, engine: Engine) -> None:
    clinic = create_clinic(engine)
    other = create_clinic(engine, name="Elsewhere", phone="+12025550999")
    theirs = create_patient(engine, other)
    _text(engine, theirs.id, other.id, days_ago=1, status=MessageStatus.SENT)
    sign_in(web_client, create_key(engine, clinic))
    assert "No texts match these filters." in web_client.get("/app/admin/messages").text
