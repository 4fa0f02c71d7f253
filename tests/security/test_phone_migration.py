"""Migration 0014 encrypts the numbers a database already holds, and its downgrade puts them back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time
from typing import Any

import sqlalchemy as sa
from alembic import command
from sqlmodel import Session, select

from outreach import migrate
from outreach.db import engine_for
from outreach.inbox.models import InboundMessage, Thread
from outreach.security import crypto
from outreach.sms.models import SimulatedSms

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
PATIENT, STRANGER = "+12025550171", "+12025550172"


def _rows_at_0013(url: str) -> dict[str, Any]:
    """A clinic, a patient, the patient's text and thread, a stranger's text and thread, a simulated text."""
    engine = engine_for(url)
    sqlite = engine.dialect.name == "sqlite"
    ids = {name: uuid.uuid4() for name in ("clinic", "patient", "t1", "t2", "m1", "m2", "sms")}

    def ident(name: str) -> Any:
        return ids[name].hex if sqlite else ids[name]

    tables = sa.MetaData()
    tables.reflect(engine, only=["clinic", "patient", "inbound_message", "inbox_thread", "simulated_sms"])
    t = tables.tables
    thread = {"language": "en", "kind": "message", "status": "open", "priority": "normal",
              "priority_rank": 2, "awaiting_reply": True, "waiting_since": NOW, "opened_at": NOW,
              "last_message_at": NOW}  # fmt: skip
    text = {"to_phone": "+12025550100", "body": "hi", "language": "en", "kind": "message",
            "priority": "normal", "received_at": NOW}  # fmt: skip
    with engine.begin() as conn:
        conn.execute(t["clinic"].insert(), {
            "id": ident("clinic"), "name": "C", "phone": "+12025550100", "default_language": "en",
            "timezone": "UTC", "default_region": "US", "quiet_start": time(0), "quiet_end": time(0),
            "emergency_number": "911", "program_name": "P", "created_at": NOW})  # fmt: skip
        conn.execute(t["patient"].insert(), {
            "id": ident("patient"), "clinic_id": ident("clinic"), "external_id": "M-1", "given_name": "A",
            "family_name": "B", "phone": PATIENT, "language": "en", "timezone": "UTC", "consent": "granted",
            "created_at": NOW, "updated_at": NOW})  # fmt: skip
        conn.execute(t["inbox_thread"].insert(), [
            {"id": ident("t1"), "clinic_id": ident("clinic"), "patient_id": ident("patient"),
             "party": f"p:{ids['patient']}", "from_phone": PATIENT, **thread},
            {"id": ident("t2"), "clinic_id": ident("clinic"), "patient_id": None, "party": f"n:{STRANGER}",
             "from_phone": STRANGER,
             **thread}])  # fmt: skip
        conn.execute(t["inbound_message"].insert(), [
            {"id": ident("m1"), "provider_sid": "SM1", "clinic_id": ident("clinic"),
             "patient_id": ident("patient"), "from_phone": PATIENT, "thread_id": ident("t1"), **text},
            {"id": ident("m2"), "provider_sid": "SM2", "clinic_id": ident("clinic"), "patient_id": None,
             "from_phone": STRANGER,
             "thread_id": ident("t2"), **text}])  # fmt: skip
        conn.execute(t["simulated_sms"].insert(), {
            "id": ident("sms"), "provider_sid": "SM3", "message_id": ident("m1"), "to": PATIENT,
            "body": "hello", "created_at": NOW})  # fmt: skip
    return ids


def test_upgrade_encrypts_existing_numbers_and_downgrade_decrypts_them(empty_url: str) -> None:
    config = migrate.alembic_config(empty_url)
    command.upgrade(config, "0013")
    ids = _rows_at_0013(empty_url)
    command.upgrade(config, "0014")
    engine = engine_for(empty_url)
    ring = crypto.active()
    with engine.connect() as conn:  # raw: the patient model has columns of later migrations (0017)
        patient = conn.execute(sa.text("SELECT phone_encrypted, phone_hash, phone_last4 FROM patient")).one()
    assert (ring.decrypt(patient[0]), patient[1], patient[2]) == (PATIENT, ring.index(PATIENT), "0171")
    with Session(engine) as session:
        assert sorted(m.from_phone for m in session.exec(select(InboundMessage))) == [PATIENT, STRANGER]
        parties = {t.id: (t.party, t.from_phone) for t in session.exec(select(Thread))}
        assert parties == {
            ids["t1"]: (f"p:{ids['patient']}", PATIENT),
            ids["t2"]: (f"n:{ring.index(STRANGER)}", STRANGER),
        }
        sms = session.get_one(SimulatedSms, ids["sms"])
        assert (sms.to, sms.to_hash) == (PATIENT, ring.index(PATIENT))
    with engine.connect() as conn:
        stored = " ".join(str(v) for row in conn.execute(sa.text("SELECT * FROM inbox_thread")) for v in row)
    assert STRANGER[2:] not in stored
    command.upgrade(config, "head")  # the later migrations apply over the converted rows
    migrate.check(empty_url)

    command.downgrade(config, "0013")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT phone FROM patient")).scalar_one() == PATIENT
        assert sorted(conn.execute(sa.text("SELECT party, from_phone FROM inbox_thread")).all()) == sorted(
            [(f"p:{ids['patient']}", PATIENT), (f"n:{STRANGER}", STRANGER)]
        )
        assert sorted(conn.execute(sa.text("SELECT from_phone FROM inbound_message")).scalars()) == [
            PATIENT,
            STRANGER,
        ]
        assert conn.execute(sa.text('SELECT "to" FROM simulated_sms')).scalar_one() == PATIENT
    engine.dispose()
