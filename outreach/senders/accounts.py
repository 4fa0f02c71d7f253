"""Which auth token signed a Twilio webhook: the deployment's account, or a clinic's subaccount.

Twilio signs a webhook with the auth token of the account that owns the number (its `AccountSid` form
field). A clinic's subaccount is checked with the token stored, encrypted, on its senders; anything else
(the deployment's own account, no AccountSid, an AccountSid no clinic configured) with the deployment's
token, so a forged AccountSid gains nothing: the signature still has to match that account's token.

Tokens are read from the database at most every `ttl_s` seconds (and at most once a second when an
unknown AccountSid asks), never per request: the inbound webhook is the busiest route.
"""

from __future__ import annotations

import threading
import time
import uuid

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach.config import Settings
from outreach.messaging.models import OutboundMessage
from outreach.senders import secrets
from outreach.senders.models import Sender

MAIN = ""  # the account_sid recorded for texts to the deployment's own account


def deployment_token(settings: Settings) -> str:
    """The secret the deployment's webhooks are signed with: the Twilio auth token, or the simulator's."""
    return settings.twilio_auth_token.get_secret_value() or settings.simulator_auth_token


class AccountTokens:
    """Auth tokens by AccountSid, for checking webhook signatures."""

    def __init__(self, *, settings: Settings, engine: Engine, ttl_s: float = 30.0) -> None:
        self._settings = settings
        self._engine = engine
        self._ttl = ttl_s
        self._tokens: dict[str, str] = {}
        self._read_at = float("-inf")
        self._lock = threading.Lock()

    def account(self, account_sid: str) -> str:
        """The account as the sender table records it: a clinic's subaccount, else MAIN."""
        account_sid = account_sid.strip()
        if not account_sid or account_sid == self._settings.twilio_account_sid:
            return MAIN
        return account_sid if self._subaccount_token(account_sid) is not None else MAIN

    def token(self, account: str) -> str | None:
        """The token that signs this account's webhooks; None for a subaccount no clinic configured."""
        if account == MAIN:
            return deployment_token(self._settings)
        return self._subaccount_token(account)

    def _subaccount_token(self, account: str) -> str | None:
        now = time.monotonic()
        stale = now - self._read_at > self._ttl
        if stale or (account not in self._tokens and now - self._read_at > 1.0):
            self.reload()
        return self._tokens.get(account)

    def reload(self) -> None:
        """Read every subaccount's token again (after a sender was added or removed, say)."""
        with Session(self._engine) as session:
            rows = session.exec(
                select(Sender.account_sid, Sender.auth_token_encrypted).where(
                    col(Sender.account_sid).is_not(None), col(Sender.auth_token_encrypted).is_not(None)
                )
            ).all()
        tokens = {
            account: secrets.decrypt(self._settings, stored) for account, stored in rows if account and stored
        }
        with self._lock:
            self._tokens, self._read_at = tokens, time.monotonic()


def message_account(session: Session, message_id: uuid.UUID) -> str | None:
    """The account a text went out from (MAIN for the deployment's own); None for no such text."""
    row = session.exec(
        select(OutboundMessage.id, Sender.account_sid)
        .outerjoin(Sender, col(Sender.id) == OutboundMessage.sender_id)
        .where(col(OutboundMessage.id) == message_id)
    ).first()
    if row is None:
        return None
    return row[1] or MAIN
