"""Phone numbers (and birth dates and ZIP codes) at rest: encrypted, numbers found by their blind index,
rotated to new keys, absent from a dump."""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach.config import ConfigError, Settings, load_settings
from outreach.db import engine_for, session_scope, utcnow
from outreach.inbox.models import InboundMessage, Thread
from outreach.main import create_app
from outreach.messaging import scheduler, sender
from outreach.models import metadata
from outreach.patients.models import Patient
from outreach.security import crypto, rotation
from outreach.sms.models import SimulatedSms
from outreach.sms.simulator import SimulatorGateway
from tests.conftest import _truncate_all
from tests.factories import auth, create_clinic, create_key, create_patient
from tests.inbox.support import CLINIC_PHONE, text_in
from tests.processes import outreach_env

KEY_A, KEY_B = Fernet.generate_key().decode(), Fernet.generate_key().decode()
INDEX_A, INDEX_B = secrets.token_urlsafe(40), secrets.token_urlsafe(40)
STRANGER = "+12025550188"  # a number no patient has
BORN, ZIPS = ("1958-04-02", "1930-05-05", "1990-06-01"), ("60612-1234", "20001", "02139")


@pytest.fixture(autouse=True)
def _own_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sets the keys it needs; the process keyring is put back afterwards."""
    monkeypatch.setattr(crypto, "_active", None)


def _keys(settings: Settings, keys: str, index: str) -> Settings:
    return settings.model_copy(update={"phi_keys": SecretStr(keys), "phi_index_keys": SecretStr(index)})


def _patient_of(engine: Engine, body: str) -> object:
    with Session(engine) as session:
        return session.exec(select(InboundMessage.patient_id).where(InboundMessage.body == body)).one()


def test_a_stored_number_is_a_token_found_by_its_index_and_never_compared_in_the_clear(
    settings: Settings, engine: Engine
) -> None:
    crypto.use(settings)
    clinic = create_clinic(engine)
    patient = create_patient(engine, clinic, phone="+12025550142")
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT phone_encrypted, phone_hash, phone_last4 FROM patient WHERE id = :id"),
            {"id": patient.id.hex if engine.dialect.name == "sqlite" else patient.id},
        ).one()
    assert "2025550142" not in stored[0]
    assert (
        Fernet(settings.phi_keys.get_secret_value().encode()).decrypt(stored[0].encode()) == b"+12025550142"
    )
    assert len(stored[1]) == crypto.HASH_CHARS
    assert stored[2] == "0142"
    with Session(engine) as session:
        assert session.get_one(Patient, patient.id).phone == "+12025550142"
        found = session.exec(select(Patient).where(crypto.indexed(col(Patient.phone_hash), "+12025550142")))
        assert [p.id for p in found] == [patient.id]
        with pytest.raises(TypeError, match="compare its blind index"):
            select(Patient).where(col(Patient.phone) == "+12025550142")


def test_numbers_written_under_old_keys_are_found_while_rotating_and_readable_with_the_new_keys_alone(
    settings: Settings, engine: Engine
) -> None:
    old = _keys(settings, KEY_A, INDEX_A)
    both = _keys(settings, f"{KEY_B},{KEY_A}", f"{INDEX_B},{INDEX_A}")
    new = _keys(settings, KEY_B, INDEX_B)
    with TestClient(create_app(old)) as client:
        clinic = create_clinic(engine, phone=CLINIC_PHONE)
        patient = create_patient(
            engine, clinic, phone="+12025550143", birth_date=date(1958, 4, 2), postal_code="60612-1234"
        )
        text_in(client, old, "where do I park?", sender=STRANGER)
        text_in(client, old, "first under A", sender=patient.phone)
    with TestClient(create_app(both)) as client:
        with Session(engine) as session:
            assert session.get_one(Patient, patient.id).phone == "+12025550143"
        text_in(client, both, "while rotating", sender="+12025550143")
        assert _patient_of(engine, "while rotating") == patient.id  # found by the previous index key
        assert rotation.rotate(engine=engine, keyring=crypto.active()) == {
            "patient": 1,
            "inbound_message": 3,
            "inbox_thread": 2,
            "simulated_sms": 0,
        }
    with TestClient(create_app(new)) as client:
        with Session(engine) as session:
            stored = session.get_one(Patient, patient.id)
            assert (stored.phone, stored.birth_date, stored.postal_code) == (
                "+12025550143",
                date(1958, 4, 2),
                "60612-1234",
            )
            assert sorted(m.from_phone for m in session.exec(select(InboundMessage))) == sorted(
                [STRANGER, "+12025550143", "+12025550143"]
            )
        text_in(client, new, "after rotating", sender="+12025550143")
        assert _patient_of(engine, "after rotating") == patient.id
        text_in(client, new, "still lost", sender=STRANGER)
        with Session(engine) as session:
            strangers = [t for t in session.exec(select(Thread)) if t.patient_id is None]
        assert len(strangers) == 1, "the stranger's second text reopens their thread under the new key"
        assert strangers[0].from_phone == STRANGER


def test_a_value_changed_while_rotating_is_kept_and_the_rest_of_its_row_is_still_rotated(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    crypto.use(_keys(settings, KEY_A, INDEX_A))
    patient = create_patient(
        engine, create_clinic(engine), phone="+12025550148", birth_date=date(1958, 4, 2), postal_code="60612"
    )
    crypto.use(_keys(settings, f"{KEY_B},{KEY_A}", f"{INDEX_B},{INDEX_A}"))
    read = rotation._batches

    def moved_between_read_and_write(engine: Engine, sealed: rotation.Sealed) -> Iterator[list[Any]]:
        for rows in read(engine, sealed):
            if sealed.table.name == "patient":  # the front desk records a new ZIP meanwhile (under B)
                with session_scope(engine) as session:
                    session.get_one(Patient, patient.id).postal_code = "20001"
            yield rows

    monkeypatch.setattr(rotation, "_batches", moved_between_read_and_write)
    assert rotation.rotate(engine=engine, keyring=crypto.active())["patient"] == 1
    crypto.use(_keys(settings, KEY_B, INDEX_B))  # only the new key: every value of the row must be under it
    with Session(engine) as session:
        stored = session.get_one(Patient, patient.id)
        assert (stored.phone, stored.birth_date, stored.postal_code, stored.postal3) == (
            "+12025550148",
            date(1958, 4, 2),
            "20001",
            "200",
        )
        assert stored.phone_hash == crypto.active().index("+12025550148")


def test_without_the_old_key_a_number_written_under_it_cannot_be_read(
    settings: Settings, engine: Engine
) -> None:
    crypto.use(_keys(settings, KEY_A, INDEX_A))
    patient = create_patient(engine, create_clinic(engine), phone="+12025550144")
    with Session(engine) as session:  # read under A, so A's keyring remembers it in the clear
        assert session.get_one(Patient, patient.id).phone == "+12025550144"
    crypto.use(_keys(settings, KEY_B, INDEX_B))  # what one keyring read never helps another
    with Session(engine) as session, pytest.raises(ConfigError, match="outreach keys rotate"):
        session.get(Patient, patient.id)


def test_dev_generates_keys_once_in_the_data_folder_and_production_refuses_to_start_without_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    dev = Settings(
        _env_file=None, data_dir=tmp_path / "var", phi_keys=SecretStr(""), phi_index_keys=SecretStr("")
    )
    first = crypto.keyring_for(dev)
    assert crypto.keyring_for(dev) is first
    assert first.decrypt(crypto.keyring_for(dev).encrypt("+12025550145")) == "+12025550145"
    for name in (crypto.ENCRYPTION_FILE, crypto.INDEX_FILE):
        assert (tmp_path / "var" / name).stat().st_mode & 0o777 == 0o600
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "OUTREACH_ENV": "production",
        "OUTREACH_GATEWAY": "twilio",
        "OUTREACH_TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
        "OUTREACH_TWILIO_AUTH_TOKEN": "a-real-looking-token-0123456789",
        "OUTREACH_TWILIO_FROM_NUMBER": "+12025550100",
        "OUTREACH_SESSION_SECRET": "q8Vt3LwZr0Xy7PbN2cKd5HfJ9sMgA1eU",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("OUTREACH_PHI_KEYS")
    with pytest.raises(ConfigError, match="OUTREACH_PHI_KEYS must be set in production"):
        load_settings()
    monkeypatch.setenv("OUTREACH_PHI_KEYS", KEY_A)
    monkeypatch.setenv("OUTREACH_PHI_INDEX_KEYS", "short")
    with pytest.raises(ConfigError, match="OUTREACH_PHI_INDEX_KEYS: each key needs at least 32"):
        load_settings()
    monkeypatch.setenv("OUTREACH_PHI_INDEX_KEYS", INDEX_A)
    assert crypto.keyring_for(load_settings()).index_keys == (INDEX_A.encode(),)


def _dump(engine: Engine) -> str:
    """Every row of every table as PostgreSQL prints it (what a dump of the data holds)."""
    with engine.connect() as conn:
        return "\n".join(
            str(row[0])
            for table in metadata.sorted_tables
            for row in conn.execute(text(f'SELECT t::text FROM "{table.name}" t'))
        )


def test_a_dump_of_the_database_after_a_day_of_texts_shows_no_patient_number_birth_date_or_zip(
    pg_database: str, tmp_path: Path
) -> None:
    settings = Settings(_env_file=None, database_url=pg_database, data_dir=tmp_path / "var")
    engine = engine_for(pg_database)
    _truncate_all(engine)
    numbers = ["+12025550161", "+12025550162", "+12025550163"]
    with TestClient(create_app(settings)) as client:
        clinic = create_clinic(engine, phone=CLINIC_PHONE)
        key = create_key(engine, clinic)
        csv = "external_id,given_name,phone,language,birth_date,postal_code\n" + "".join(
            f"D-{i},Dana,{number[2:5]}-{number[5:8]}-{number[8:]},es,{born},{code}\n"
            for i, (number, born, code) in enumerate(zip(numbers, BORN, ZIPS, strict=True))
        )
        imported = client.post(
            "/admin/patients/import.csv",
            headers=auth(key),
            files={"file": ("p.csv", csv.encode(), "text/csv")},
        )
        assert imported.json()["created"] == 3, imported.text
        with Session(engine) as session:
            first = session.exec(select(Patient).where(Patient.external_id == "D-0")).one()
        consent = {"status": "granted", "source": "intake form"}
        agreed = client.post(f"/admin/patients/{first.id}/consent", headers=auth(key), json=consent)
        assert agreed.status_code < 300, agreed.text
        created = client.post(
            "/admin/messages", headers=auth(key), json={"patient_id": str(first.id), "body": "Hola Dana"}
        )
        assert created.status_code == 201, created.text
        with session_scope(engine) as session:
            claimed = scheduler.claim_due(session=session, now=utcnow() + timedelta(seconds=1), limit=10)
        for message_id, _ in claimed:
            sender.send(
                engine=engine,
                message_id=message_id,
                gateway=SimulatorGateway(engine),
                policy=sender.SendPolicy(),
            )
        text_in(client, settings, "Gracias, alli estare", sender=numbers[0])
        text_in(client, settings, "AYUDA", sender=numbers[1])
        text_in(client, settings, "who is this?", sender=STRANGER)
        with Session(engine) as session:
            assert [s.to for s in session.exec(select(SimulatedSms))] == [numbers[0]]
            assert {m.from_phone for m in session.exec(select(InboundMessage))} == {*numbers[:2], STRANGER}
    dump = _dump(engine)
    assert "Gracias, alli estare" in dump  # the dump is real
    assert "0161" in dump  # and the last four digits are kept in the clear, for search
    for number in [*numbers, STRANGER]:
        assert number[2:] not in dump, number  # nor with its +1, nor typed as digits only
    assert _alone("1958", dump)  # the birth year is kept in the clear
    assert _alone("606", dump)  # and so is ZIP3
    for born in BORN:
        assert born not in dump, born
        assert born.replace("-", "") not in dump, born
    for code in ZIPS:
        assert not _alone(code[:5], dump), code
        assert code not in dump, code
        assert code.replace("-", "") not in dump, code


def _alone(value: str, dump: str) -> bool:
    """Whether the dump holds this value on its own (not as digits inside a token, a uuid or a timestamp)."""
    return re.search(rf"(?<![\w.:+-]){value}(?![\w.:+-])", dump) is not None


def test_the_sqlite_file_shows_no_patient_number_birth_date_or_zip(
    sqlite_template: Path, tmp_path: Path
) -> None:
    path = tmp_path / "outreach.db"
    shutil.copy(sqlite_template, path)
    settings = Settings(_env_file=None, database_url=f"sqlite:///{path}", data_dir=tmp_path / "var")
    engine = engine_for(settings.database_url)
    numbers = ["+12025550164", "+12025550165", "+12025550166"]
    with TestClient(create_app(settings)) as client:
        clinic = create_clinic(engine, phone=CLINIC_PHONE)
        csv = "external_id,given_name,phone,language,birth_date,postal_code,consent\n" + "".join(
            f"S-{i},Dana,{number},es,{born},{code},granted\n"
            for i, (number, born, code) in enumerate(zip(numbers, BORN, ZIPS, strict=True))
        )
        imported = client.post(
            "/admin/patients/import.csv",
            headers=auth(create_key(engine, clinic)),
            files={"file": ("p.csv", csv.encode(), "text/csv")},
        )
        assert imported.json()["created"] == 3, imported.text
        text_in(client, settings, "Gracias, alli estare", sender=numbers[0])
    engine.dispose()  # the last connection closed: SQLite folds its write-ahead log into the file
    stored = b"".join(f.read_bytes() for f in tmp_path.glob("outreach.db*"))
    assert b"Gracias, alli estare" in stored  # the file is real
    assert b"S-0" in stored  # MRNs are kept in the clear (not encrypted yet)
    for value in [*(n[2:] for n in numbers), *BORN, *(b.replace("-", "") for b in BORN), "60612-1234"]:
        assert value.encode() not in stored, value


def test_outreach_keys_rotate_moves_every_number_to_the_first_keys(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    crypto.use(_keys(settings, KEY_A, INDEX_A))
    clinic = create_clinic(engine)
    patient = create_patient(
        engine, clinic, phone="+12025550146", birth_date=date(1990, 6, 1), postal_code="20001"
    )
    bare = create_patient(engine, clinic, phone="+12025550147")  # no birth date, no ZIP: nulls stay null
    env = outreach_env(
        database_url=settings.database_url, broker_url="filesystem://", data_dir=tmp_path / "var"
    )
    env.update(OUTREACH_PHI_KEYS=f"{KEY_B},{KEY_A}", OUTREACH_PHI_INDEX_KEYS=f"{INDEX_B},{INDEX_A}")
    done = subprocess.run(
        [sys.executable, "-m", "outreach", "keys", "rotate"],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "patient: 2 rows under the newest keys" in done.stdout
    crypto.use(_keys(settings, KEY_B, INDEX_B))  # the old keys are gone: every token was rewritten
    with Session(engine) as session:
        stored, other = session.get_one(Patient, patient.id), session.get_one(Patient, bare.id)
        assert (stored.phone, stored.phone_hash) == ("+12025550146", crypto.active().index("+12025550146"))
        assert (stored.birth_date, stored.postal_code) == (date(1990, 6, 1), "20001")
        assert (other.phone, other.birth_date, other.postal_code) == ("+12025550147", None, None)
