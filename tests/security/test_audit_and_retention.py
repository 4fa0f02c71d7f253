"""The audit trail (every read and write of a patient's data, append-only in the database itself) and
retention (old bodies removed, outcomes kept)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from outreach.clinics.models import ApiKey, Role
from outreach.config import Settings, webhook_token
from outreach.db import session_scope, utcnow
from outreach.inbox.models import InboundKind, InboundMessage, InboxAudit, Thread
from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.patients.models import ConsentEvent
from outreach.security.models import AuditEvent, ClinicPolicy
from outreach.security.retention import PURGED, purge
from outreach.sms.twilio import sign_request
from tests.factories import auth, create_clinic, create_key, create_patient, seed_due_texts
from tests.web.conftest import sign_in, web_app


def test_reading_and_changing_a_patient_leaves_a_trail_the_admin_can_read(
    client: TestClient, engine: Engine
) -> None:
    clinic = create_clinic(engine)
    key = auth(create_key(engine, clinic))
    patient = create_patient(engine, clinic)
    assert client.get(f"/admin/patients/{patient.id}", headers=key).status_code == 200
    assert (
        client.patch(f"/admin/patients/{patient.id}", json={"given_name": "Ana M."}, headers=key).status_code
        == 200
    )
    message = client.post(
        "/admin/messages", json={"patient_id": str(patient.id), "body": "Hola"}, headers=key
    )
    assert client.get(f"/admin/messages/{message.json()['id']}", headers=key).status_code == 200

    trail = client.get(f"/admin/patients/{patient.id}/audit", headers=key).json()

    actions = [e["action"] for e in trail]
    assert actions[:3] == [
        "GET /admin/messages/{message_id}",
        "PATCH /admin/patients/{patient_id}",
        "GET /admin/patients/{patient_id}",
    ]
    assert all(e["patient_id"] == str(patient.id) and e["channel"] == "api" for e in trail)
    assert "+1202" not in str(trail)
    assert "Hola" not in str(trail)


def test_another_clinics_patient_has_no_trail_here(client: TestClient, engine: Engine) -> None:
    key = auth(create_key(engine, create_clinic(engine)))
    theirs = create_patient(engine, create_clinic(engine, name="Other"))
    assert client.get(f"/admin/patients/{theirs.id}/audit", headers=key).status_code == 404


def _one_audit_row_each(engine: Engine) -> None:
    clinic = create_clinic(engine)
    key = create_key(engine, clinic, Role.COORDINATOR)
    now = utcnow()
    with session_scope(engine) as session:
        session.add(AuditEvent(clinic_id=clinic.id, channel="api", action="GET /admin/patients"))
        thread = Thread(
            clinic_id=clinic.id, party="n:x", from_phone="+12025550100", language="en",
            kind=InboundKind.MESSAGE, waiting_since=now, opened_at=now, last_message_at=now,
        )  # fmt: skip
        session.add(thread)
        session.flush()
        key_id = session.exec(select(ApiKey.id).where(ApiKey.clinic_id == clinic.id)).one()
        session.add(InboxAudit(clinic_id=clinic.id, thread_id=thread.id, key_id=key_id, action="view"))
    assert key


@pytest.mark.parametrize("change", ["update", "delete"])
def test_the_database_refuses_to_change_or_delete_audit_rows_and_the_consent_ledger(
    engine: Engine, change: str
) -> None:
    _one_audit_row_each(engine)
    statement = (
        update(AuditEvent).values(action="nothing happened") if change == "update" else delete(AuditEvent)
    )
    with pytest.raises(DBAPIError, match="append-only"), session_scope(engine) as session:
        session.execute(statement)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(
            text("UPDATE inbox_audit SET action = 'x'" if change == "update" else "DELETE FROM inbox_audit")
        )
    create_patient(engine, create_clinic(engine, name="Ledger"))  # its consent is one ledger row
    ledger = (
        "UPDATE consent_event SET status = 'revoked'" if change == "update" else "DELETE FROM consent_event"
    )
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(ledger))
    with Session(engine) as session:
        assert [a.action for a in session.exec(select(AuditEvent))] == ["GET /admin/patients"]
        assert [a.action for a in session.exec(select(InboxAudit))] == ["view"]
        assert [e.status for e in session.exec(select(ConsentEvent))] == ["granted"]


def _age(engine: Engine, ids: list[uuid.UUID], days: int) -> None:
    old = utcnow() - timedelta(days=days)
    with session_scope(engine) as session:
        session.execute(
            update(OutboundMessage).where(col(OutboundMessage.id).in_(ids)).values(created_at=old)
        )
        session.execute(update(InboundMessage).values(received_at=old))


def test_retention_removes_old_bodies_and_keeps_outcomes(engine: Engine) -> None:
    clinic = create_clinic(engine)
    with session_scope(engine) as session:
        session.add(ClinicPolicy(clinic_id=clinic.id, retention_days=30))
    sent, unsent, recent = seed_due_texts(engine, clinic, patients=3, per_patient=1)
    patient = create_patient(engine, clinic)
    with session_scope(engine) as session:
        session.execute(
            update(OutboundMessage)
            .where(col(OutboundMessage.id) == sent)
            .values(status=MessageStatus.DELIVERED, sent_at=utcnow())
        )
        session.add(
            InboundMessage(
                provider_sid="SMold", clinic_id=clinic.id, patient_id=patient.id, from_phone=patient.phone,
                to_phone=clinic.phone, body="I have chest pain", language="en", kind=InboundKind.MESSAGE,
            )
        )  # fmt: skip
    _age(engine, [sent, unsent], 31)

    with session_scope(engine) as session:
        totals = purge(session=session, now=utcnow())

    assert totals == {"outbound": 1, "inbound": 1, "notes": 0}
    with Session(engine) as session:
        bodies = {m.id: (m.body, m.status) for m in session.exec(select(OutboundMessage))}
        assert bodies[sent] == (PURGED, MessageStatus.DELIVERED)  # the outcome stays
        assert bodies[unsent][0] != PURGED  # not sent yet: it still needs its words
        assert bodies[recent][0] != PURGED
        inbound = session.exec(select(InboundMessage)).one()
        assert (inbound.body, inbound.kind, inbound.language) == (PURGED, InboundKind.MESSAGE, "en")
        assert session.exec(select(func.count()).select_from(OutboundMessage)).one() == 3  # rows all stay
        [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "retention_purge")).all()
        assert event.channel == "system"
    with session_scope(engine) as session:
        assert purge(session=session, now=utcnow()) == {"outbound": 0, "inbound": 0, "notes": 0}


def test_a_coordinator_opening_a_thread_in_the_web_app_is_traced_to_the_patient(
    settings: Settings, engine: Engine
) -> None:
    clinic = create_clinic(engine)
    patient = create_patient(engine, clinic)
    url = settings.public_base_url.rstrip("/") + "/webhooks/twilio/sms"
    form = {
        "MessageSid": "SM" + "1" * 32,
        "From": patient.phone,
        "To": clinic.phone,
        "Body": "Can I come later?",
    }
    signature = sign_request(auth_token=webhook_token(settings), url=url, params=form)
    with TestClient(web_app(settings)) as browser:
        texted = browser.post("/webhooks/twilio/sms", data=form, headers={"X-Twilio-Signature": signature})
        assert texted.status_code == 200
        with Session(engine) as session:
            thread = session.exec(select(Thread).where(Thread.patient_id == patient.id)).one()
        assert sign_in(browser, create_key(engine, clinic, Role.COORDINATOR)).status_code == 303
        assert browser.get(f"/app/threads/{thread.id}").status_code == 200
    with Session(engine) as session:
        [event] = session.exec(select(AuditEvent).where(AuditEvent.channel == "web")).all()
    assert (event.action, event.patient_id, event.object_id) == (
        "GET /app/threads/{thread_id}",
        patient.id,
        thread.id,
    )
