"""docker-compose.yml: no Docker engine runs here, so check that the file describes a working stack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from outreach.config import Settings

COMPOSE = Path(__file__).parents[1] / "docker-compose.yml"


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def test_services_and_images() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", "redis", "migrate", "api", "worker", "scheduler"}
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    for name in ("migrate", "api", "worker", "scheduler"):
        assert services[name]["build"] == "."
        assert services[name]["command"][0] == "outreach"


def test_commands_match_the_cli() -> None:
    services = _compose()["services"]
    assert services["migrate"]["command"] == ["outreach", "db", "upgrade"]
    assert services["api"]["command"][:2] == ["outreach", "serve"]
    assert "0.0.0.0" in services["api"]["command"]
    assert services["worker"]["command"][:2] == ["outreach", "worker"]
    assert services["scheduler"]["command"] == ["outreach", "scheduler"]


def test_migrations_run_before_the_app_and_servers_are_healthy_first() -> None:
    services = _compose()["services"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("api", "worker", "scheduler"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["redis"]["condition"] == "service_healthy"
    for name in ("postgres", "redis", "api"):
        assert services[name]["healthcheck"]["test"]
    assert "/health" in " ".join(services["api"]["healthcheck"]["test"])


def test_environment_is_a_valid_production_configuration() -> None:
    env = dict(_compose()["services"]["api"]["environment"])
    resolved = {
        key: (
            value
            if "${" not in value
            else {
                "OUTREACH_TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
                "OUTREACH_SESSION_SECRET": "q8Vt3LwZr0Xy7PbN2cKd5HfJ9sMgA1eU",
            }.get(key, "configured")
        )
        for key, value in env.items()
    }
    postgres = _compose()["services"]["postgres"]["environment"]
    url = resolved["OUTREACH_DATABASE_URL"]
    assert url.startswith("postgresql+psycopg://")
    assert (
        f"{postgres['POSTGRES_USER']}:{postgres['POSTGRES_PASSWORD']}@postgres:5432/{postgres['POSTGRES_DB']}"
        in url
    )
    assert resolved["OUTREACH_BROKER_URL"].startswith("redis://redis:6379")
    settings = Settings.model_validate({k.removeprefix("OUTREACH_").lower(): v for k, v in resolved.items()})
    assert settings.env == "production"
    assert settings.gateway == "twilio"
    assert settings.redis_url == settings.broker_url
