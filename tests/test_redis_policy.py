"""Workers and the scheduler refuse an evicting Redis in production: an evicted task id is a lost text."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from outreach.broker import require_noeviction
from outreach.config import ConfigError, Settings
from tests.processes import outreach_env
from tests.redis_server import redis_server

PRODUCTION = {
    "OUTREACH_ENV": "production",
    "OUTREACH_GATEWAY": "twilio",
    "OUTREACH_TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
    "OUTREACH_TWILIO_AUTH_TOKEN": "f" * 32,
    "OUTREACH_TWILIO_FROM_NUMBER": "+12025550100",
    "OUTREACH_SESSION_SECRET": "Zk3q9VtLw0r7XyPbN2cKd5HfJ8sMgA1eUo4iRjT6",
}


@pytest.mark.parametrize("command", ["worker", "scheduler"])
def test_a_production_worker_or_scheduler_refuses_an_evicting_redis_in_one_line(
    pg_database: str, tmp_path: Path, command: str
) -> None:
    with redis_server(
        tmp_path / "redis", "--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"
    ) as server:
        env = outreach_env(
            database_url=pg_database, broker_url=server.url, data_dir=tmp_path / "var", **PRODUCTION
        )
        done = subprocess.run(
            [sys.executable, "-m", "outreach", command],
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )
    lines = done.stderr.decode().strip().splitlines()
    assert done.returncode == 2
    assert lines == [
        "outreach: Redis's maxmemory-policy is allkeys-lru: an evicted task id is a lost text; "
        "set maxmemory-policy noeviction"
    ]


def test_noeviction_passes_and_dev_only_warns(tmp_path: Path) -> None:
    with redis_server(tmp_path / "keeps", "--maxmemory-policy", "noeviction") as keeps:
        production = Settings.model_validate(
            {k.removeprefix("OUTREACH_").lower(): v for k, v in PRODUCTION.items()}
            | {"broker_url": keeps.url}
        )
        assert require_noeviction(production) is None
    with redis_server(tmp_path / "evicts", "--maxmemory-policy", "volatile-ttl") as evicts:
        dev = Settings(_env_file=None, broker_url=evicts.url, data_dir=tmp_path / "var")
        warning = require_noeviction(dev)
        assert warning is not None
        assert "volatile-ttl" in warning
        with pytest.raises(ConfigError, match="volatile-ttl"):
            require_noeviction(
                production.model_copy(update={"broker_url": evicts.url, "redis_url": evicts.url})
            )
