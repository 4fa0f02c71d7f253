"""Holds at claim time. The daily spend cap: texts claimed past a clinic's segments for its day are held
with a reason the admin sees, released by the admin (audited), and a dry run that would pass the cap says
so. A text to a patient whose stored zone is unknown is held, not sent at a guess, and the batch goes on."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach.db import session_scope, utcnow
from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.messaging.scheduler import UNKNOWN_ZONE, claim_due
from outreach.patients.models import Patient
from outreach.security.models import AuditEvent, ClinicPolicy
from outreach.security.spend import SPEND_CAP
from tests.campaigns.support import book, enroll, make_campaign
from tests.factories import auth, create_clinic, create_key, create_patient, seed_due_texts


def _cap(engine: Engine, clinic_id: uuid.UUID, segments: int) -> None:
    with session_scope(engine) as session:
        session.add(ClinicPolicy(clinic_id=clinic_id, daily_segment_cap=segments))


def _claim(engine: Engine) -> list[uuid.UUID]:
    with session_scope(engine) as session:
        return [mid for mid, _ in claim_due(session=session, now=utcnow() + timedelta(seconds=1), limit=100)]


def test_texts_past_the_cap_are_held_and_an_admin_releases_them(client: TestClient, engine: Engine) -> None:
    clinic = create_clinic(engine)
    other = create_clinic(engine, name="Other", phone="+12025550198")
    key = auth(create_key(engine, clinic))
    _cap(engine, clinic.id, 3)
    ours = seed_due_texts(engine, clinic, patients=5, per_patient=1)  # 1 segment each
    theirs = seed_due_texts(engine, other, patients=2, per_patient=1)

    claimed = _claim(engine)

    assert set(theirs) <= set(claimed)  # another clinic's cap is its own
    assert len(set(ours) & set(claimed)) == 3
    with Session(engine) as session:
        held = session.exec(
            select(OutboundMessage).where(col(OutboundMessage.status) == MessageStatus.HELD)
        ).all()
        assert {m.id for m in held} == set(ours) - set(claimed)
        assert {m.error_reason for m in held} == {SPEND_CAP}
    today = client.get("/admin/security/spend", headers=key).json()
    assert (today["daily_segment_cap"], today["claimed_segments"], today["held_texts"]) == (3, 3, 2)
    assert _claim(engine) == []  # held texts stay held on later ticks

    released = client.post("/admin/security/spend/release", json={"reason": "flu clinic day"}, headers=key)
    assert released.json() == {"texts": 2, "segments": 2}
    assert set(_claim(engine)) == set(ours) - set(claimed)
    again = client.post("/admin/security/spend/release", json={"reason": "again"}, headers=key)
    assert again.status_code == 409
    with Session(engine) as session:
        [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "spend_release")).all()
        assert "flu clinic day" in (event.reason or "")


def test_a_dry_run_past_the_cap_names_the_day_and_the_excess(client: TestClient, engine: Engine) -> None:
    clinic = create_clinic(engine, timezone="America/Chicago")
    key = auth(create_key(engine, clinic))
    now = datetime.now(UTC)
    visit = (now + timedelta(days=3)).replace(
        hour=17, minute=0, second=0, microsecond=0
    )  # 11:00/12:00 Chicago
    for _ in range(4):
        patient = create_patient(engine, clinic, language="en", timezone="America/Chicago")
        book(engine, clinic, patient.id, visit)
    campaign = make_campaign(engine, clinic, now=now, steps=[{"offset_minutes": -1440}])
    enroll(engine, campaign, now=now)
    under = client.get(f"/admin/campaigns/{campaign.id}/dry-run", headers=key).json()
    assert under["over_daily_cap"] == {}
    segments = under["segments"]
    assert segments >= 4
    client.patch("/admin/security/policy", json={"daily_segment_cap": segments - 2}, headers=key)
    over = client.get(f"/admin/campaigns/{campaign.id}/dry-run", headers=key).json()
    day = (visit - timedelta(days=1)).astimezone(ZoneInfo("America/Chicago")).date()
    assert over["over_daily_cap"] == {day.isoformat(): 2}


def test_a_text_to_a_patient_with_an_unknown_stored_zone_is_held_and_the_batch_goes_on(
    engine: Engine,
) -> None:
    clinic = create_clinic(engine)
    lost, fine = seed_due_texts(engine, clinic, patients=2, per_patient=1)
    with session_scope(engine) as session:
        message = session.get(OutboundMessage, lost)
        assert message is not None
        session.execute(
            update(Patient).where(col(Patient.id) == message.patient_id).values(timezone="Mars/Olympus")
        )
    assert _claim(engine) == [fine]
    with Session(engine) as session:
        held = session.get(OutboundMessage, lost)
        assert held is not None
        assert (held.status, held.error_reason) == (MessageStatus.HELD, UNKNOWN_ZONE)
