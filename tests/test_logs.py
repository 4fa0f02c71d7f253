"""Structured logs: JSON lines with request and task ids, phone numbers masked, the old format by default."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from celery import Celery
from fastapi.testclient import TestClient

from outreach.config import Settings
from outreach.main import create_app
from outreach.observability import logs
from tests.processes import outreach_env, running, wait_for
from tests.servers import free_port

PHONE = "+12025550143"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Every record of the `outreach` loggers, formatted as the JSON setting formats them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.formatter())
    handler.addFilter(logs.WorkContext())
    logger = logging.getLogger("outreach.test")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line]


def test_a_json_line_names_its_request_and_masks_phone_numbers(captured: io.StringIO) -> None:
    token = logs.REQUEST_ID.set("req-12345678")
    try:
        logging.getLogger("outreach.test").warning("could not reach %s for text %s", PHONE, "abc")
        try:
            raise ValueError(f"bad number {PHONE}")
        except ValueError:
            logging.getLogger("outreach.test").exception("import failed")
    finally:
        logs.REQUEST_ID.reset(token)
    first, second = _lines(captured)
    assert first["message"] == "could not reach [phone] for text abc"
    assert (first["level"], first["logger"], first["request_id"], first["task_id"]) == (
        "WARNING",
        "outreach.test",
        "req-12345678",
        None,
    )
    assert "bad number [phone]" in str(second["exc_info"])
    assert PHONE not in captured.getvalue()
    assert "2025550143" not in captured.getvalue()


def test_the_api_gives_each_request_an_id_and_echoes_a_good_one(settings: Settings) -> None:
    json_settings = settings.model_copy(update={"log_format": "json"})
    with TestClient(create_app(json_settings)) as client:
        fresh = client.get("/health").headers["x-request-id"]
        kept = client.get("/health", headers={"X-Request-ID": "trace-abcdef01"}).headers["x-request-id"]
        forged = client.get("/health", headers={"X-Request-ID": "x\r\nSet-Cookie: a"}).headers["x-request-id"]
        inbound = client.post("/webhooks/twilio/sms", data={}).headers["x-request-id"]
    assert len(fresh) == 32
    assert kept == "trace-abcdef01"
    assert "Set-Cookie" not in forged
    assert len(inbound) == 32  # the inbound webhook, served ahead of the routing, has one too


def test_by_default_there_are_no_request_ids_and_the_old_format(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        assert "x-request-id" not in client.get("/health").headers
    assert logs.configure(settings) is False


def test_a_task_writes_its_task_id(settings: Settings, captured: io.StringIO) -> None:
    logs.install_celery(settings)
    app = Celery("logs-test", broker="memory://")
    app.conf.task_always_eager = True

    @app.task(name="test.logs")  # type: ignore[untyped-decorator]
    def noisy() -> None:
        logging.getLogger("outreach.test").info("sending batch")

    result = noisy.apply(task_id="task-0001-aaaa")
    logging.getLogger("outreach.test").info("after the task")
    during, after = _lines(captured)
    assert result.id == "task-0001-aaaa"
    assert during["task_id"] == "task-0001-aaaa"
    assert after["task_id"] is None


def test_a_served_process_writes_json_lines(settings: Settings, tmp_path: Path) -> None:
    port = free_port()
    env = outreach_env(
        database_url=settings.database_url,
        broker_url="filesystem://",
        data_dir=tmp_path / "var",
        OUTREACH_LOG_FORMAT="json",
    )
    with running({"api": ["serve", "--port", str(port)]}, env, tmp_path / "logs"):
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return httpx.get(f"{url}/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, timeout_s=60, what="the API to answer")
        httpx.get(f"{url}/simulator/phones/{PHONE}/messages", timeout=5)
    lines = [line for line in (tmp_path / "logs" / "api.log").read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    access = [r for r in records if r["logger"] == "uvicorn.access"]
    assert len(access) == 2
    assert all(isinstance(r["request_id"], str) for r in access)  # each request line names its request
    assert {"time", "level", "logger", "message"} <= set(records[0])
    assert not any("2025550143" in line for line in lines)


def test_numbers_that_are_not_phone_numbers_stay_valid_json(captured: io.StringIO) -> None:
    logging.getLogger("outreach.test").info("took %s", 7.56116180999993, extra={"runtime": 7.56116180999993})
    [line] = _lines(captured)  # parses: the mask never touches a serialised number
    assert line["runtime"] == 7.56116180999993
