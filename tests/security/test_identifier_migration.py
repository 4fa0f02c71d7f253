"""Migration 0017 encrypts the birth dates and ZIP codes a database already holds, keeps only the birth year
(nobody older than 90) and ZIP3 in the clear, and its downgrade puts the clear values back."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa
from alembic import command
from sqlmodel import Session

from outreach import migrate
from outreach.db import engine_for, utcnow
from outreach.patients.models import Patient
from outreach.security import crypto

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
# (birth date, ZIP) of each patient at 0016
PEOPLE = {
    "dana": (date(1958, 4, 2), "60612-1234"),
    "eli": (date(1930, 5, 5), "20001"),  # over 89: the clear year is raised
    "fay": (None, None),
}


def _rows_at_0016(url: str) -> dict[str, Any]:
    engine = engine_for(url)
    sqlite = engine.dialect.name == "sqlite"
    ids = {name: uuid.uuid4() for name in ("clinic", *PEOPLE)}

    def ident(name: str) -> Any:
        return ids[name].hex if sqlite else ids[name]

    tables = sa.MetaData()
    tables.reflect(engine, only=["clinic", "patient"])
    ring = crypto.active()
    with engine.begin() as conn:
        conn.execute(tables.tables["clinic"].insert(), {
            "id": ident("clinic"), "name": "C", "phone": "+12025550100", "default_language": "en",
            "timezone": "UTC", "default_region": "US", "quiet_start": time(0), "quiet_end": time(0),
            "emergency_number": "911", "program_name": "P", "created_at": NOW})  # fmt: skip
        for n, (name, (born, code)) in enumerate(PEOPLE.items()):
            phone = f"+1202555018{n}"
            conn.execute(tables.tables["patient"].insert(), {
                "id": ident(name), "clinic_id": ident("clinic"), "external_id": name, "given_name": name,
                "family_name": "B", "phone_encrypted": ring.encrypt(phone), "phone_hash": ring.index(phone),
                "phone_last4": phone[-4:], "language": "en", "timezone": "UTC", "consent": "granted",
                "birth_date": born, "postal_code": code, "created_at": NOW, "updated_at": NOW})  # fmt: skip
    return ids


def test_upgrade_encrypts_birth_dates_and_zip_codes_and_downgrade_decrypts_them(empty_url: str) -> None:
    config = migrate.alembic_config(empty_url)
    command.upgrade(config, "0016")
    ids = _rows_at_0016(empty_url)
    command.upgrade(config, "0017")
    migrate.check(empty_url)  # 0017 is the head: the schema is the models'
    engine = engine_for(empty_url)
    oldest = utcnow().year - 90  # 1936 in 2026
    with Session(engine) as session:
        patients = {name: session.get_one(Patient, ids[name]) for name in PEOPLE}
        stored = {
            name: (p.birth_date, p.postal_code, p.birth_year, p.postal3) for name, p in patients.items()
        }
    assert stored == {
        "dana": (date(1958, 4, 2), "60612-1234", 1958, "606"),
        "eli": (date(1930, 5, 5), "20001", oldest, "200"),
        "fay": (None, None, None, None),
    }
    with engine.connect() as conn:
        values = [str(v) for row in conn.execute(sa.text("SELECT * FROM patient")) for v in row]
        columns = {c["name"] for c in sa.inspect(conn).get_columns("patient")}
    assert {"birth_date", "postal_code"}.isdisjoint(columns)
    for clear in ("1958-04-02", "1930-05-05", "60612"):
        assert not any(clear in value for value in values), clear
    assert "20001" not in values

    command.downgrade(config, "0016")
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT external_id, birth_date, postal_code FROM patient")).all()
        columns = {c["name"] for c in sa.inspect(conn).get_columns("patient")}
    back = {name: (str(born) if born is not None else None, code) for name, born, code in rows}
    assert back == {"dana": ("1958-04-02", "60612-1234"), "eli": ("1930-05-05", "20001"), "fay": (None, None)}
    assert {"birth_date_encrypted", "birth_year", "postal_code_encrypted", "postal3"}.isdisjoint(columns)
    engine.dispose()
