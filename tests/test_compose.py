"""docker-compose.yml: no Docker engine runs here, so check that the file describes a working stack."""

from __future__ import annotations

import re
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
    assert set(services) == {"postgres", "redis", "migrate", "api", "worker", "scheduler", "flower"}
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


_REQUIRED = re.compile(r"^\$\{(?P<name>\w+):\?[^}]*\}$")
_DEFAULTED = re.compile(r"^\$\{(?P<name>\w+):-(?P<default>[^}]*)\}$")
# What an operator would set for the variables compose requires.
_GIVEN = {
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "PUBLIC_BASE_URL": "https://outreach.example.org",
    "SESSION_SECRET": "q8Vt3LwZr0Xy7PbN2cKd5HfJ9sMgA1eU",
    "PHI_KEYS": "3o0MUVxKD9v5u5Bd7ZcQm2C0m8xw4xhw6l2aTGtq0nE=",
    "PHI_INDEX_KEYS": "Zk3q9VtLw0r7XyPbN2cKd5HfJ8sMgA1eUo4iRjT6",
}


def _resolve(value: str) -> str:
    """Compose's interpolation: `${X:?...}` must be set (by the operator), `${X:-d}` falls back to d."""
    if required := _REQUIRED.match(value):
        return _GIVEN.get(required["name"], "configured")
    if defaulted := _DEFAULTED.match(value):
        return defaulted["default"]
    assert "${" not in value, f"an interpolation this test does not know: {value}"
    return value


def _settings_of(service: str) -> Settings:
    env = {key: _resolve(str(value)) for key, value in _compose()["services"][service]["environment"].items()}
    fields = {k.removeprefix("OUTREACH_").lower(): v for k, v in env.items() if k.startswith("OUTREACH_")}
    return Settings.model_validate(fields)


def test_environment_is_a_valid_production_configuration() -> None:
    env = {key: _resolve(value) for key, value in _compose()["services"]["api"]["environment"].items()}
    postgres = _compose()["services"]["postgres"]["environment"]
    url = env["OUTREACH_DATABASE_URL"]
    assert url.startswith("postgresql+psycopg://")
    assert (
        f"{postgres['POSTGRES_USER']}:{postgres['POSTGRES_PASSWORD']}@postgres:5432/{postgres['POSTGRES_DB']}"
        in url
    )
    assert env["OUTREACH_BROKER_URL"].startswith("redis://redis:6379")
    for service in ("api", "worker", "scheduler"):
        settings = _settings_of(service)
        assert settings.env == "production"
        assert settings.gateway == "twilio"
        assert settings.redis_url == settings.broker_url
        assert settings.log_format == "json"


def test_redis_never_evicts_and_keeps_its_data() -> None:
    redis = _compose()["services"]["redis"]
    command = redis["command"]
    assert command[0] == "redis-server"
    options = dict(zip(command[1::2], command[2::2], strict=True))
    assert options["--maxmemory-policy"] == "noeviction"
    assert options["--appendonly"] == "yes"
    assert any(volume.endswith(":/data") for volume in redis["volumes"])
    assert redis["volumes"][0].split(":")[0] in _compose()["volumes"]
    postgres = _compose()["services"]["postgres"]
    assert postgres["volumes"][0].split(":")[0] in _compose()["volumes"]


def test_one_scheduler_workers_that_scale_and_flower_only_when_asked() -> None:
    services = _compose()["services"]
    assert services["scheduler"]["deploy"]["replicas"] == 1
    assert "ports" not in services["worker"]  # `--scale worker=N` needs no host port per worker
    assert "celery" in services["worker"]["healthcheck"]["test"][1]
    assert int(services["worker"]["stop_grace_period"].rstrip("s")) >= 30
    flower = services["flower"]
    assert flower["profiles"] == ["flower"]
    assert "--broker=redis://redis:6379/0" in flower["command"]
    assert flower["ports"] == ["127.0.0.1:5555:5555"]  # the host's loopback only
    assert _REQUIRED.match(flower["environment"]["FLOWER_BASIC_AUTH"])


def test_metrics_are_collected_across_each_containers_processes() -> None:
    services = _compose()["services"]
    for name in ("api", "worker", "scheduler"):
        service = services[name]
        folder = service["environment"]["PROMETHEUS_MULTIPROC_DIR"]
        assert any(mount.split(":")[0] == folder for mount in service["tmpfs"])  # fresh at each start
    worker = _settings_of("worker")
    assert (worker.metrics_port, worker.metrics_bind) == (9100, "0.0.0.0")
    assert _settings_of("api").metrics_port == 0
