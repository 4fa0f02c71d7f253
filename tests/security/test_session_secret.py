"""The web session secret: its own setting, strong in production, generated once per data folder in dev."""

from __future__ import annotations

import stat
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from outreach.clinics.models import Role
from outreach.config import ConfigError, Settings, load_settings, webhook_token
from outreach.web.sessions import decode, encode, session_secret, signed_in
from tests.factories import create_clinic, create_key
from tests.web.conftest import sign_in, web_app

_TWILIO = {
    "OUTREACH_ENV": "production",
    "OUTREACH_GATEWAY": "twilio",
    "OUTREACH_TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
    "OUTREACH_TWILIO_AUTH_TOKEN": "a-real-looking-token-0123456789",
    "OUTREACH_TWILIO_FROM_NUMBER": "+12025550100",
}


def _production(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **extra: str) -> Settings:
    monkeypatch.chdir(tmp_path)  # no .env from the checkout
    for name, value in {**_TWILIO, **extra}.items():
        monkeypatch.setenv(name, value)
    return load_settings()


def test_production_refuses_to_start_without_a_session_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="OUTREACH_SESSION_SECRET needs at least 32"):
        _production(monkeypatch, tmp_path)


def test_production_refuses_a_short_or_repetitive_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="OUTREACH_SESSION_SECRET needs at least 32"):
        _production(monkeypatch, tmp_path, OUTREACH_SESSION_SECRET="changeme")
    with pytest.raises(ConfigError, match="too repetitive"):
        _production(monkeypatch, tmp_path, OUTREACH_SESSION_SECRET="ab" * 20)


def test_production_starts_with_a_strong_secret_and_uses_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    strong = "q8Vt3LwZr0Xy7PbN2cKd5HfJ9sMgA1eU"
    settings = _production(monkeypatch, tmp_path, OUTREACH_SESSION_SECRET=strong)
    assert session_secret(settings) == strong.encode()
    assert not (settings.data_dir / "session-secret").exists()


def test_dev_generates_one_secret_in_the_data_folder_and_keeps_it(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "var")
    first = session_secret(settings)
    path = tmp_path / "var" / "session-secret"
    assert path.read_bytes() == first
    assert len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert session_secret(Settings(_env_file=None, data_dir=tmp_path / "var")) == first
    assert session_secret(Settings(_env_file=None, data_dir=tmp_path / "other")) != first


def test_a_cookie_signed_with_the_webhook_token_is_refused(settings: Settings, engine: Engine) -> None:
    """In a default install the webhook secret is a known string; it must not sign sessions."""
    key = create_key(engine, create_clinic(engine), Role.ADMIN)
    with TestClient(web_app(settings)) as client:
        assert sign_in(client, key).status_code == 303
        genuine = client.cookies["outreach_session"]
        current = decode(genuine, secret=session_secret(settings), now=10**10, max_age_s=10**11)
        assert current is not None
        forged = encode(current, secret=webhook_token(settings).encode())
        client.cookies.clear()
        client.cookies.set("outreach_session", forged)
        assert client.get("/app/admin/patients", follow_redirects=False).status_code == 303  # to sign-in


def test_the_configured_secret_signs_cookies(settings: Settings) -> None:
    secret = "k" * 10 + "0123456789abcdefghijklmnop"
    configured = settings.model_copy(update={"session_secret": SecretStr(secret)})
    session = signed_in(key_id=uuid.uuid4(), clinic_id=uuid.uuid4(), role=Role.ADMIN, now=100)
    cookie = encode(session, secret=session_secret(configured))
    assert decode(cookie, secret=secret.encode(), now=101) == session
    assert decode(cookie, secret=session_secret(settings), now=101) is None
