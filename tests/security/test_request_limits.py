"""Request limits: offsets past the database's range, oversized bodies (refused while they stream in),
and the error shape /openapi.json documents for every 4xx."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from outreach.config import Settings
from outreach.main import create_app
from tests.factories import auth, create_clinic, create_key


def test_an_offset_past_the_bigint_range_is_a_422_naming_offset(client: TestClient, engine: Engine) -> None:
    key = auth(create_key(engine, create_clinic(engine)))
    for path in ("/admin/patients", "/admin/messages", "/admin/campaigns"):
        answer = client.get(path, params={"offset": 2**63}, headers=key)
        assert answer.status_code == 422, path
        assert answer.json()["error"] == "validation_error"
        assert [item["field"] for item in answer.json()["detail"]] == ["offset"]
        assert client.get(path, params={"offset": 10_000}, headers=key).json() == []


def test_a_10_mb_json_body_announced_as_such_is_refused_with_413(client: TestClient, engine: Engine) -> None:
    key = auth(create_key(engine, create_clinic(engine)))
    body = json.dumps({"external_id": "A1", "phone": "+12025550111", "given_name": "x" * 10_000_000})
    answer = client.post("/admin/patients", content=body, headers={**key, "Content-Type": "application/json"})
    assert answer.status_code == 413
    assert answer.json() == {
        "error": "content_too_large",
        "detail": [{"field": "body", "reason": "is larger than 1000000 bytes, the limit for this route"}],
    }


def _stream(app: Any, path: str, *, total: int, chunk: int) -> tuple[int, int]:
    """POST `total` bytes in chunks without a Content-Length; (status, bytes the app pulled)."""
    pulled = 0
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        size = min(chunk, total - pulled)
        pulled += size
        return {"type": "http.request", "body": b"x" * size, "more_body": pulled < total}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
        "app": app,
    }
    asyncio.run(app(scope, receive, send))
    return status, pulled


def test_a_chunked_10_mb_body_is_refused_before_it_is_read_whole(settings: Settings) -> None:
    app = create_app(settings)
    status, pulled = _stream(app, "/admin/patients", total=10_000_000, chunk=65_536)
    assert status == 413
    assert pulled <= 1_000_000 + 65_536  # stopped at the first chunk past the 1 MB limit


def test_patient_imports_may_be_larger_than_other_bodies(settings: Settings) -> None:
    small = settings.model_copy(update={"max_body_bytes": 2048, "max_upload_bytes": 1_000_000})
    with TestClient(create_app(small)) as client:
        assert client.post("/admin/messages", content=b"x" * 5000).status_code == 413
        assert (
            client.post("/admin/patients/import", content=b"x" * 5000).status_code == 401
        )  # no key, not size


def test_openapi_documents_the_error_shape_the_server_answers(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    assert "HTTPValidationError" not in components
    assert components["Error"]["required"] == ["error", "detail"]
    assert components["FieldProblem"]["required"] == ["field", "reason"]
    operation = schema["paths"]["/admin/patients"]["post"]
    for code in ("401", "404", "413", "422", "429"):
        assert operation["responses"][code]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"
        }
    assert "Retry-After" in operation["responses"]["429"]["headers"]
    text = json.dumps(schema)
    assert "HTTPValidationError" not in text
