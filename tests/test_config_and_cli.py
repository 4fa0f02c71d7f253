"""Settings that cannot work stop the process with one clear line; the CLI manages clinics and keys."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from outreach.clinics.models import ApiKey, Clinic
from outreach.config import ConfigError, Settings, load_settings
from outreach.main import create_app
from outreach.patients.models import Patient
from tests.factories import auth
from tests.processes import outreach_env


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "outreach", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_defaults_are_the_embedded_shape() -> None:
    settings = Settings.model_validate({})
    assert settings.database_url == "sqlite:///var/outreach.db"
    assert settings.broker_url == "filesystem://"
    assert settings.gateway == "simulator"
    assert settings.redis_url == ""


def test_redis_broker_is_also_the_pacing_redis() -> None:
    settings = Settings.model_validate({"broker_url": "redis://localhost:6379/0"})
    assert settings.redis_url == "redis://localhost:6379/0"


@pytest.mark.parametrize(
    ("values", "names"),
    [
        ({"gateway": "twilio"}, "OUTREACH_TWILIO_ACCOUNT_SID"),
        ({"gateway": "twilio", "twilio_account_sid": "AC1"}, "OUTREACH_TWILIO_AUTH_TOKEN"),
        (
            {"gateway": "twilio", "twilio_account_sid": "AC1", "twilio_auth_token": "changeme"},
            "OUTREACH_TWILIO_AUTH_TOKEN",
        ),
        (
            {"gateway": "twilio", "twilio_account_sid": "AC1", "twilio_auth_token": "tok"},
            "OUTREACH_TWILIO_MESSAGING_SERVICE_SID",
        ),
        ({"env": "production"}, "OUTREACH_GATEWAY=twilio"),
    ],
)
def test_unworkable_settings_say_what_to_set(
    values: dict[str, str], names: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in values.items():
        monkeypatch.setenv(f"OUTREACH_{key.upper()}", value)
    with pytest.raises(ConfigError, match=names):
        load_settings()


def test_cli_twilio_without_credentials_prints_one_line(tmp_path: Path) -> None:
    env = outreach_env(
        database_url=f"sqlite:///{tmp_path}/x.db", broker_url="filesystem://", data_dir=tmp_path
    )
    env["OUTREACH_GATEWAY"] = "twilio"
    result = _cli("serve", env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "OUTREACH_TWILIO_ACCOUNT_SID" in lines[0]


def test_cli_unreachable_database_prints_one_line(tmp_path: Path) -> None:
    url = "postgresql+psycopg://outreach:secret-pw@127.0.0.1:1/outreach"
    env = outreach_env(database_url=url, broker_url="filesystem://", data_dir=tmp_path)
    result = _cli("serve", env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "cannot reach the database" in lines[0]
    assert "OUTREACH_DATABASE_URL" in lines[0]
    assert "secret-pw" not in lines[0]


def test_cli_creates_clinic_and_key_that_the_api_accepts(settings: Settings, engine: Engine) -> None:
    env = outreach_env(
        database_url=settings.database_url, broker_url="filesystem://", data_dir=settings.data_dir
    )
    created = _cli("create-clinic", "Harbor Health", "--timezone", "America/Los_Angeles", env=env)
    assert created.returncode == 0, created.stderr
    clinic_id = created.stdout.strip()
    key = _cli("create-key", "--clinic", clinic_id, "--role", "admin", env=env).stdout.strip()
    with Session(engine) as session:
        clinic = session.get(Clinic, uuid.UUID(clinic_id))
        stored = session.exec(select(ApiKey)).one()
    assert clinic is not None
    assert clinic.timezone == "America/Los_Angeles"
    assert key not in stored.secret_hash
    assert key.split("_")[-1] not in stored.secret_hash
    with TestClient(create_app(settings)) as client:
        assert client.get("/admin/patients", headers=auth(key)).status_code == 200


def test_cli_rejects_unknown_timezone(settings: Settings) -> None:
    env = outreach_env(
        database_url=settings.database_url, broker_url="filesystem://", data_dir=settings.data_dir
    )
    result = _cli("create-clinic", "Harbor Health", "--timezone", "Mars/Base", env=env)
    assert result.returncode == 2
    assert "timezone" in result.stderr


def test_cli_import_patients_keeps_good_rows_lists_bad_lines_and_is_idempotent(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    env = outreach_env(
        database_url=settings.database_url, broker_url="filesystem://", data_dir=settings.data_dir
    )
    clinic_id = _cli("create-clinic", "Harbor Health", env=env).stdout.strip()
    rows = "\n".join(
        [
            "external_id,given_name,phone,language,timezone,consent",
            "MRN-1,Ana,202-555-0111,es-MX,America/New_York,granted",
            "MRN-2,Minh,202-555-0112,vi,America/Chicago,granted",
            "MRN-3,Wei,not a phone,zh-TW,America/Chicago,granted",
            "MRN-4,Olga,202-555-0114,xx-nonsense-tag,America/Chicago,granted",
        ]
    )
    file = tmp_path / "patients.csv"
    file.write_text(rows + "\n", encoding="utf-8")

    first = _cli("import-patients", str(file), "--clinic", clinic_id, env=env)
    again = _cli("import-patients", str(file), "--clinic", clinic_id, env=env)

    assert first.returncode == 1  # some rows were rejected
    assert "created 2, updated 0, unchanged 0, rejected 2" in first.stdout
    rejected = [line for line in first.stderr.splitlines() if line.startswith("line ")]
    assert [line.split(":")[0:2] for line in rejected] == [["line 4", " phone"], ["line 5", " language"]]
    assert "'not a phone'" in rejected[0]  # the reason names the value, so the clinic can fix the row
    assert "created 0, updated 0, unchanged 2, rejected 2" in again.stdout
    with Session(engine) as session:
        stored = sorted(p.external_id for p in session.exec(select(Patient)))
    assert stored == ["MRN-1", "MRN-2"]
