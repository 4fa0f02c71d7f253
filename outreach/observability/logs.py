"""Structured logs: one JSON object per line when OUTREACH_LOG_FORMAT=json, the usual lines otherwise.

Each JSON line carries the request id (from a well-formed `X-Request-ID`, else a new one, echoed back in
the response) or the Celery task id it was written under, so one text's path can be followed across the
API and the workers. Every string of the line goes through `redaction.redact_phones`, so a phone number that
reaches a message, an argument or an exception's text is masked; bodies are never logged.
"""

from __future__ import annotations

import logging
import logging.config
import re
import uuid
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from outreach.config import Settings
from outreach.redaction import redact_phones

REQUEST_ID: ContextVar[str | None] = ContextVar("outreach_request_id", default=None)
TASK_ID: ContextVar[str | None] = ContextVar("outreach_task_id", default=None)
_GOOD_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_HEADER = b"x-request-id"


class WorkContext(logging.Filter):
    """Puts the current request id and task id on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        record.task_id = TASK_ID.get()
        return True


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return redact_phones(value)
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(item) for item in value]
    return value


class RedactedJson(JsonFormatter):
    """python-json-logger's formatter, with phone-shaped text masked in every string it writes.

    Masked field by field before the line is serialised (never the serialised line, whose numbers a
    mask could break), so a phone number in a message, an argument or an exception's text is caught.
    """

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        masked: dict[str, Any] = _masked(super().process_log_record(log_data))
        return masked


def formatter() -> RedactedJson:
    """The JSON formatter: time, level, logger, message, request and task ids (and any exception)."""
    return RedactedJson(
        ["asctime", "levelname", "name", "message", "request_id", "task_id"],
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        # Not uvicorn's coloured copy of the message, nor Celery's task arguments and return values.
        reserved_attrs=[*RESERVED_ATTRS, "color_message", "data"],
    )


def dict_config(level: str = "INFO") -> dict[str, Any]:
    """A logging.config dictionary: every logger (uvicorn's and Celery's too) writes JSON to stderr."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "filters": ["context"]}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": WorkContext}},
        "formatters": {"json": {"()": formatter}},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            **{
                name: {"handlers": [], "propagate": True}
                for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "celery")
            },
            # One line per task costs more than the send itself at volume (see workers.celery_app).
            **{name: {"level": "WARNING"} for name in ("celery.app.trace", "celery.worker.strategy")},
        },
    }


def configure(settings: Settings, level: str = "INFO") -> bool:
    """Switch this process to JSON logs when the settings ask; True when it did."""
    if settings.log_format != "json":
        return False
    logging.config.dictConfig(dict_config(level))
    return True


class RequestIds:
    """ASGI middleware: a request id for each HTTP request, in the logs and the `X-Request-ID` answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(_HEADER, b"").decode("latin-1")
        request_id = given if _GOOD_ID.match(given) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (_HEADER, request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, tagged)
        finally:
            REQUEST_ID.reset(token)


def _task_started(task_id: str | None = None, **_: Any) -> None:
    TASK_ID.set(task_id)


def _task_finished(**_: Any) -> None:
    TASK_ID.set(None)


def install_celery(settings: Settings) -> None:
    """Task ids on every record a task writes; JSON logs for the worker and beat when asked.

    Connecting `setup_logging` tells Celery not to configure logging itself (its documented hook).
    """
    from celery import signals  # noqa: PLC0415

    signals.task_prerun.connect(_task_started, weak=False, dispatch_uid="outreach-task-id")
    signals.task_postrun.connect(_task_finished, weak=False, dispatch_uid="outreach-task-id-end")
    if settings.log_format == "json":

        def _json_logs(loglevel: object = "INFO", **_: Any) -> None:
            level = logging.getLevelName(loglevel) if isinstance(loglevel, int) else str(loglevel or "INFO")
            configure(settings, level.upper())

        signals.setup_logging.connect(_json_logs, weak=False, dispatch_uid="outreach-json-logs")
