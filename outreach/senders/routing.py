"""Which sender each text goes out from, and the gateway and pacing bucket of each sender.

A text's sender is fixed when the scheduler claims it: the sender its campaign names, else the clinic's
default sender, else none (NULL: the deployment's own configured number or Messaging Service). It is
written on the row, so the outbox records the sender every text used, and the scheduler sends each
sender's texts in batches of their own (a batch is at most one second of that sender's budget).

Workers look senders up by id through `SenderBook`, which keeps what it read for a few seconds, so a
send costs no extra query; a changed rate or token is picked up within `ttl_s`.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach.campaigns.models import Campaign
from outreach.config import Settings
from outreach.messaging.models import OutboundMessage
from outreach.messaging.pacing import default_rate
from outreach.observability import metrics
from outreach.senders import secrets
from outreach.senders.models import Sender
from outreach.sms.base import GatewayError, GatewayReceipt, OutboundSms, SmsGateway, send_all
from outreach.sms.factory import build_gateway

log = logging.getLogger(__name__)

_CAMPAIGN_SENDER = (
    select(Campaign.sender_id)
    .where(col(Campaign.id) == OutboundMessage.campaign_id)
    .correlate(OutboundMessage)
    .scalar_subquery()
)
_CLINIC_DEFAULT = (
    select(Sender.id)
    .where(col(Sender.clinic_id) == OutboundMessage.clinic_id, col(Sender.is_default).is_(True))
    .order_by(col(Sender.created_at))
    .limit(1)
    .correlate(OutboundMessage)
    .scalar_subquery()
)
_ASSIGN = (
    update(OutboundMessage)
    .where(
        col(OutboundMessage.id).in_(bindparam("ids", expanding=True)),
        col(OutboundMessage.sender_id).is_(None),
    )
    .values(sender_id=func.coalesce(_CAMPAIGN_SENDER, _CLINIC_DEFAULT))
)
_READ = select(OutboundMessage.id, OutboundMessage.sender_id).where(
    col(OutboundMessage.id).in_(bindparam("ids", expanding=True))
)


def assign(*, session: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID | None]:
    """Record the sender of each claimed text that has none yet; return every text's sender."""
    if not ids:
        return {}
    session.execute(_ASSIGN, {"ids": list(ids)})
    return {row[0]: row[1] for row in session.execute(_READ, {"ids": list(ids)})}


Item = tuple[uuid.UUID, int]


def by_sender(
    items: Sequence[Item], senders: dict[uuid.UUID, uuid.UUID | None], size: Callable[[uuid.UUID | None], int]
) -> Iterator[tuple[uuid.UUID | None, list[Item]]]:
    """The items in batches of one sender each, at most `size(sender)` long, in their claimed order."""
    grouped: dict[uuid.UUID | None, list[Item]] = {}
    for item in items:
        grouped.setdefault(senders.get(item[0]), []).append(item)
    for sender_id, group in grouped.items():
        step = max(1, size(sender_id))
        for start in range(0, len(group), step):
            yield sender_id, group[start : start + step]


@dataclass(frozen=True, slots=True)
class Route:
    """How one sender's texts go: its pacing bucket (never a phone number), rate and gateway."""

    sender_id: uuid.UUID | None
    key: str
    rate: float
    gateway: SmsGateway


def deployment_key(settings: Settings) -> str:
    """The deployment-wide sender's bucket: a hash of its number or service, so no number is in Redis."""
    source = settings.twilio_messaging_service_sid or settings.twilio_from_number or settings.gateway
    return hashlib.sha256(source.encode()).hexdigest()[:16]


class SenderBook:
    """Per-process routes by sender id, read from the database and kept for `ttl_s` seconds."""

    def __init__(self, *, settings: Settings, engine: Engine, ttl_s: float = 15.0) -> None:
        self._settings = settings
        self._engine = engine
        self._ttl = ttl_s
        self._lock = threading.Lock()
        default_gateway = build_gateway(settings=settings, engine=engine)
        rate = settings.sender_rate_per_s or default_rate(settings.sender_type)
        self.default = Route(None, deployment_key(settings), rate, default_gateway)
        self._routes: dict[uuid.UUID, tuple[float, Route]] = {}
        self._gateways: dict[tuple[object, ...], SmsGateway] = {}

    def route(self, sender_id: uuid.UUID | None) -> Route:
        """The route of a sender (the deployment's own for None, or for a sender deleted since)."""
        if sender_id is None:
            return self.default
        now = time.monotonic()
        with self._lock:
            cached = self._routes.get(sender_id)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        with Session(self._engine) as session:
            sender = session.get(Sender, sender_id)
        if sender is None:
            log.warning(
                "sender %s no longer exists; its texts go out from the deployment's sender", sender_id
            )
            return self.default
        route = Route(sender.id, f"sender:{sender.id}", sender.rate_per_s, self._gateway(sender))
        with self._lock:
            self._routes[sender_id] = (now, route)
        return route

    def _gateway(self, sender: Sender) -> SmsGateway:
        settings = self._settings
        if settings.gateway != "twilio":
            return self.default.gateway  # the simulator delivers whatever the number
        token = (
            secrets.decrypt(settings, sender.auth_token_encrypted)
            if sender.auth_token_encrypted
            else settings.twilio_auth_token.get_secret_value()
        )
        account = sender.account_sid or settings.twilio_account_sid
        key = (account, token, sender.phone_number, sender.messaging_service_sid)
        with self._lock:
            found = self._gateways.get(key)
            if found is None:
                from outreach.sms.twilio import TwilioGateway  # noqa: PLC0415

                found = self._gateways[key] = TwilioGateway(
                    account_sid=account,
                    auth_token=token,
                    messaging_service_sid=sender.messaging_service_sid,
                    from_number=sender.phone_number,
                    api_base_url=settings.twilio_api_base_url or None,
                    validity_period_s=settings.twilio_validity_period_s,
                )
            return found


class RoutingGateway:
    """One gateway for the send path that hands each text to its own sender's gateway."""

    name = "routing"

    def __init__(self, book: SenderBook) -> None:
        self.book = book

    def send(self, sms: OutboundSms) -> GatewayReceipt:
        """Send through the text's sender, timing the call and counting refusals by code."""
        [answer] = self.send_many([sms])
        if isinstance(answer, GatewayError):
            raise answer
        return answer

    def send_many(self, texts: Sequence[OutboundSms]) -> list[GatewayReceipt | GatewayError]:
        """Send each sender's texts together through its gateway, timing them and counting refusals."""
        answers: dict[int, GatewayReceipt | GatewayError] = {}
        senders: dict[uuid.UUID | None, list[int]] = {}
        for index, sms in enumerate(texts):
            senders.setdefault(sms.sender_id, []).append(index)
        for sender_id, indexes in senders.items():
            gateway = self.book.route(sender_id).gateway
            began = time.perf_counter()
            group = send_all(gateway, [texts[i] for i in indexes])
            took, histogram = time.perf_counter() - began, metrics.SEND_SECONDS.labels(gateway.name)
            for index, answer in zip(indexes, group, strict=True):
                histogram.observe(took)  # each text of the group waited as long as the group
                if isinstance(answer, GatewayError):
                    _count_error(answer)
                answers[index] = answer
        return [answers[index] for index in range(len(texts))]

    def lookup(self, sms: OutboundSms, *, sent_after: datetime) -> GatewayReceipt | None:
        """Look the text up in its sender's account."""
        return self.book.route(sms.sender_id).gateway.lookup(sms, sent_after=sent_after)


def _count_error(error: GatewayError) -> None:
    code = metrics.gateway_error_code(
        error.code, retryable=error.retryable, may_have_arrived=error.may_have_arrived
    )
    metrics.GATEWAY_ERRORS.labels(code).inc()
