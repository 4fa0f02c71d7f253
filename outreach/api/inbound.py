"""Twilio's inbound SMS webhook: signed, stored once, answered with TwiML in the patient's language.

It is the busiest route of the service and Twilio waits on it, so it is served as plain ASGI, ahead of
FastAPI's routing, dependency injection and request objects (which cost more than the rest of the
request on the Python side): `InboundWebhook` answers `POST /webhooks/twilio/sms` itself and hands
every other request to the application. Its 4xx answers have the shape of FastAPI's (`{"detail": …}`),
and an unexpected error still reaches the application's 500 handler.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from starlette.types import ASGIApp, Receive, Scope, Send

from outreach.api.twilio_auth import MAX_FORM_BYTES, MAX_FORM_FIELDS, signed_by_twilio
from outreach.config import Settings
from outreach.inbox.inbound_plan import IncomingSms
from outreach.observability import metrics
from outreach.security.ratelimit import inbound_retry_after
from outreach.senders.accounts import AccountTokens
from outreach.sms.base import MAX_BODY_CHARS

PATH = "/webhooks/twilio/sms"
_LIMITS = {"MessageSid": 64, "From": 32, "To": 32, "Body": MAX_BODY_CHARS}
_FORM = b"application/x-www-form-urlencoded"


class _Refused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _twiml(reply: str | None) -> bytes:
    """TwiML that answers with the reply as one message, or answers nothing."""
    inner = f"<Message>{escape(reply)}</Message>" if reply else ""
    return f'<?xml version="1.0" encoding="UTF-8"?><Response>{inner}</Response>'.encode()


def _field(form: dict[str, str], name: str) -> str:
    value = form.get(name)
    if value is None or (name != "Body" and not value.strip()):
        raise _Refused(400, f"{name} is missing")
    if len(value) > _LIMITS[name]:
        raise _Refused(400, f"{name} is longer than {_LIMITS[name]} characters")
    if "\x00" in value:  # no text field can store it
        raise _Refused(400, f"{name} contains a NUL character")
    return value.strip() if name != "Body" else value


async def _body(headers: dict[bytes, bytes], receive: Receive) -> bytes:
    if int(headers.get(b"content-length") or 0) > MAX_FORM_BYTES:
        raise _Refused(400, "webhook body too large")
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":  # the caller hung up: nothing to answer
            raise _Refused(400, "the request ended before its body")
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            raise _Refused(400, "webhook body too large")
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


def _form(headers: dict[bytes, bytes], body: bytes) -> dict[str, str]:
    if not headers.get(b"content-type", b"").startswith(_FORM):
        return {}  # no form fields at all: the signature check (or the field checks) will refuse it
    try:
        pairs = parse_qsl(
            body.decode("latin-1"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS, errors="replace"
        )
    except ValueError:
        raise _Refused(400, f"webhook form has more than {MAX_FORM_FIELDS} fields") from None
    return dict(pairs)  # a repeated field counts once, with its last value (as Starlette's forms do)


async def _sms(scope: Scope, receive: Receive, settings: Settings, accounts: AccountTokens) -> IncomingSms:
    """The text in a validly signed webhook; `_Refused` (400 or 403) before anything is written."""
    headers = dict(scope["headers"])
    form = _form(headers, await _body(headers, receive))
    query = scope.get("query_string", b"").decode("latin-1")
    signature = headers.get(b"x-twilio-signature", b"").decode("latin-1")
    # Signed with the token of the account that owns the number written to (a clinic's subaccount, say).
    account = accounts.account(form.get("AccountSid", ""))
    token = accounts.token(account)
    if token is None or not signed_by_twilio(
        settings, path=scope["path"], query=query, params=form, signature=signature, auth_token=token
    ):
        raise _Refused(403, "invalid or missing X-Twilio-Signature")
    return IncomingSms(
        sid=_field(form, "MessageSid"),
        from_phone=_field(form, "From"),
        to_phone=_field(form, "To"),
        body=_field(form, "Body"),
        account=account,
        messaging_service_sid=form.get("MessagingServiceSid", "")[:34],
    )


async def _answer(
    send: Send, status: int, content_type: bytes, body: bytes, *, retry_after: int | None = None
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class InboundWebhook:
    """`POST /webhooks/twilio/sms`, answered before the application's routing; the rest passes through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        began, outcome = time.perf_counter(), "error"
        try:
            outcome = await self._handle(scope, receive, send)
        finally:
            metrics.INBOUND_WEBHOOKS.labels(outcome).inc()
            metrics.INBOUND_SECONDS.observe(time.perf_counter() - began)

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> str:
        """Answer the webhook; return its outcome for the metrics (the kind of text, or why refused)."""
        state: Any = scope["app"].state
        try:
            sms = await _sms(scope, receive, state.settings, state.accounts)
        except _Refused as refused:
            detail = json.dumps({"detail": refused.detail}).encode()
            await _answer(send, refused.status, b"application/json", detail)
            return f"refused_{refused.status}"
        wait = await inbound_retry_after(scope, from_phone=sms.from_phone)
        if wait is not None:  # a flood from one number is refused before anything is stored
            detail = json.dumps({"detail": f"too many texts from this number; retry after {wait} s"}).encode()
            await _answer(send, 429, b"application/json", detail, retry_after=wait)
            return "refused_429"
        # Committed before the answer goes out, so a STOP that Twilio sees acknowledged has taken effect;
        # a replayed SID (None) gets an empty answer and no second effect.
        received = await state.receiver.receive(sms)
        reply = _twiml(received.reply if received else None)
        await _answer(send, 200, b"text/xml; charset=utf-8", reply)
        return received.kind.value if received else "replay"
