"""Domain errors and the HTTP answers they become: every 4xx names the field or object and the reason."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException


class DomainError(Exception):
    """Base for errors a caller can act on."""

    status_code = 400
    error = "bad_request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    """The object does not exist for this clinic (another clinic's object is not found either)."""

    status_code = 404
    error = "not_found"

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found")


class Conflict(DomainError):
    """The object's state does not allow this action now."""

    status_code = 409
    error = "conflict"


class Invalid(DomainError):
    """A value the caller sent is not acceptable; `field` names it."""

    status_code = 422
    error = "validation_error"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header"} and len(parts) > 1:
        parts = parts[1:]
    return ".".join(parts) or "body"


def _validation_item(err: dict[str, Any]) -> dict[str, Any]:
    kind = str(err.get("type", ""))
    if kind == "json_invalid":
        return {
            "field": "body",
            "reason": f"malformed JSON: {err.get('ctx', {}).get('error', 'cannot parse')}",
        }
    if kind == "extra_forbidden":
        return {"field": _field(err["loc"]), "reason": "unknown field"}
    reason = str(err.get("msg", "invalid value")).removeprefix("Value error, ")  # a validator's own words
    return {"field": _field(err["loc"]), "reason": reason}


def error_slug(status_code: int) -> str:
    """`not_found`, `too_many_requests`, …: the reason phrase of a status, as an identifier."""
    try:
        phrase = HTTPStatus(status_code).phrase
    except ValueError:
        return "error"
    return phrase.lower().replace(" ", "_").replace("-", "_")


def install_handlers(app: FastAPI) -> None:
    """Register the JSON shapes for domain and validation errors."""

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        body: dict[str, Any] = {"error": exc.error, "detail": exc.detail}
        if isinstance(exc, Invalid):
            body["detail"] = [{"field": exc.field, "reason": exc.reason}]
        return JSONResponse(status_code=exc.status_code, content=body)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        items = [_validation_item(dict(e)) for e in exc.errors()]
        return JSONResponse(status_code=422, content={"error": "validation_error", "detail": items})

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        body = {"error": error_slug(exc.status_code), "detail": exc.detail}
        return JSONResponse(status_code=exc.status_code, content=body, headers=exc.headers)
