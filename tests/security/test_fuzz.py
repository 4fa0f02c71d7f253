"""A bounded fuzzing run over the OpenAPI schema (schemathesis): for requests generated from the schema,
with a valid admin key, the server answers no 5xx, only documented status codes, and bodies that match
the documented schemas (the error shape included). Seeded, so a failure reproduces; a few examples per
route keep it to seconds."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, seed, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from outreach.clinics.models import Role
from outreach.config import Settings
from outreach.main import create_app
from tests.factories import auth, create_clinic, create_key, create_patient

FUZZ_SEED = 20261203
# Calls back into a running server over HTTP (none runs here): exercised by tests/api/test_simulator.py.
_SKIP = "/simulator/phones/{phone}/reply"


@pytest.fixture
def fuzzed(tmp_path: Path, sqlite_template: Path) -> tuple[FastAPI, str]:
    """The app on a SQLite copy with one clinic, a patient and an admin key."""
    shutil.copy(sqlite_template, tmp_path / "outreach.db")
    config = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'outreach.db'}", data_dir=tmp_path)
    app = create_app(config)
    clinic = create_clinic(app.state.engine)
    create_patient(app.state.engine, clinic)
    return app, create_key(app.state.engine, clinic, Role.ADMIN)


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_generated_requests_get_documented_answers_and_no_5xx(fuzzed: tuple[FastAPI, str]) -> None:
    app, key = fuzzed
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: dict[str, str] = {}
    results = list(schema.get_all_operations())
    assert all(isinstance(result, Ok) for result in results), results  # every route's schema is readable
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) > 30  # the whole API, not an empty schema
    for operation in operations:
        if operation.path == _SKIP:
            continue

        @seed(FUZZ_SEED)
        @settings(max_examples=4, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            case.call_and_validate(headers=auth(key), checks=CHECKS)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # every failing route is reported, not only the first
            failures[operation.label] = str(exc)[:2000]
    assert failures == {}
