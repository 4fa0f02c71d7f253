"""Request-size limits and the error shape every 4xx has, documented in OpenAPI.

Bodies are counted as they stream in: a request announcing more than its route allows is refused at once,
and one that does not say (chunked) is refused as soon as it passes the limit, so nothing is read whole
before it is refused. Patient imports may be larger than other bodies. The webhook has its own, smaller
limit (see api/inbound.py) and never reaches this middleware.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from outreach.config import Settings

_UPLOAD_PATHS = ("/admin/patients/import", "/admin/fhir/import")
_WITH_BODY = {"POST", "PUT", "PATCH"}


class _TooLarge(Exception):
    pass


async def _refuse(send: Send, limit: int) -> None:
    reason = f"is larger than {limit} bytes, the limit for this route"
    body = json.dumps(
        {"error": "content_too_large", "detail": [{"field": "body", "reason": reason}]}
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """413 for a body larger than its route allows, before it has been read whole."""

    def __init__(self, app: ASGIApp, *, default_bytes: int, upload_bytes: int) -> None:
        self.app = app
        self.default_bytes = default_bytes
        self.upload_bytes = upload_bytes

    def limit_for(self, path: str) -> int:
        """The limit of a route."""
        return self.upload_bytes if path.startswith(_UPLOAD_PATHS) else self.default_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _WITH_BODY:
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(send, limit)
            return
        # Buffered up to the limit (at most `limit` bytes held), then handed on as one message.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _refuse(send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


FIELD_PROBLEM = {
    "type": "object",
    "title": "FieldProblem",
    "required": ["field", "reason"],
    "properties": {
        "field": {"type": "string", "description": "The field, dotted (steps.0.bodies.es), or body"},
        "reason": {"type": "string", "description": "Why it cannot be accepted"},
    },
}
ERROR_BODY = {
    "type": "object",
    "title": "Error",
    "description": "Every 4xx: a machine-readable error and what was wrong (a sentence, or field problems)",
    "required": ["error", "detail"],
    "properties": {
        "error": {"type": "string", "description": "validation_error, not_found, conflict, unauthorized, …"},
        "detail": {
            "anyOf": [
                {"type": "string"},
                {"type": "array", "items": {"$ref": "#/components/schemas/FieldProblem"}},
            ]
        },
    },
}
_ERRORS = {
    "400": "The request cannot be read",
    "401": "Missing, unknown or revoked API key",
    "403": "The key's role may not do this",
    "404": "Not found for this clinic",
    "409": "The object's state does not allow it now",
    "413": "The body is larger than this route allows",
    "422": "A value is not acceptable: each problem names its field and the reason",
    "429": "Too many attempts: wait Retry-After seconds",
}


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI schema with the real error shape on every operation, instead of FastAPI's default."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    components["FieldProblem"] = FIELD_PROBLEM
    components["Error"] = ERROR_BODY
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    retry = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code, description in _ERRORS.items():
                entry: dict[str, Any] = {"description": description, "content": content}
                if code == "429":
                    entry["headers"] = retry
                responses[code] = entry
    return schema


def install_limits(app: FastAPI) -> None:
    """Body limits on every route and the documented error shape in /openapi.json."""
    settings: Settings = app.state.settings
    app.add_middleware(
        BodyLimit, default_bytes=settings.max_body_bytes, upload_bytes=settings.max_upload_bytes
    )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            base = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                routes=app.routes,
                tags=app.openapi_tags,
            )
            app.openapi_schema = document_errors(base)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
