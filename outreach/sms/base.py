"""The contract between the delivery pipeline and an SMS gateway."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

MAX_BODY_CHARS = 1600
"""The longest body one text may have: Twilio's limit for a message body (it splits it into segments)."""


@dataclass(frozen=True, slots=True)
class OutboundSms:
    """One text to hand to the gateway. `message_id` is ours; the gateway echoes it in callbacks."""

    message_id: UUID
    to: str
    body: str
    status_callback: str | None = None
    segments: int = 1
    sender_id: UUID | None = None  # the clinic's sender it goes out from; None: the deployment's own


@dataclass(frozen=True, slots=True)
class GatewayReceipt:
    """What the gateway said when it accepted a text."""

    provider_sid: str
    status: str


class GatewayError(Exception):
    """A send that did not succeed.

    `retryable` is true only when the request provably never reached the provider (connection refused,
    HTTP 429, 503): resending cannot duplicate. `may_have_arrived` is true when the request left but no
    answer came back (timeout, dropped connection): the outcome is unknown and must never be resent blindly.
    `code` is the provider's error code when it gave one (Twilio 21610, 21211, ...).
    """

    def __init__(
        self,
        reason: str,
        *,
        code: int | None = None,
        retryable: bool = False,
        may_have_arrived: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.retryable = retryable
        self.may_have_arrived = may_have_arrived


class SmsGateway(Protocol):
    """Anything that can deliver an SMS."""

    name: str

    def send(self, sms: OutboundSms) -> GatewayReceipt:
        """Hand one text to the provider; raise GatewayError when it did not take it."""
        ...

    def lookup(self, sms: OutboundSms, *, sent_after: datetime) -> GatewayReceipt | None:
        """Find a text whose answer never came back; None when the provider has no record of it."""
        ...


def send_all(gateway: SmsGateway, texts: Sequence[OutboundSms]) -> list[GatewayReceipt | GatewayError]:
    """Each text's receipt or error, in their order: together when the gateway can, else one by one.

    A gateway that can hand several texts over at once (Twilio: concurrent requests) has
    `send_many(texts) -> list[GatewayReceipt | GatewayError]`, which answers for each text and never raises.
    """
    together = getattr(gateway, "send_many", None)
    if together is not None:
        return list(together(texts))
    outcomes: list[GatewayReceipt | GatewayError] = []
    for sms in texts:
        try:
            outcomes.append(gateway.send(sms))
        except GatewayError as error:
            outcomes.append(error)
    return outcomes
