"""Rate limits on what an attacker would repeat: wrong keys, sign-in guesses, webhook floods.

Counted with `limits` (moving windows), in Redis when one is configured so every server process shares the
counts, in process memory otherwise (the embedded default runs one server). A caller over a limit gets
429 with Retry-After. Counter keys never hold a phone number or a key's secret: a sender's number is
reduced to an HMAC under the session secret, a key to its public prefix.

- Failed authentications, per client address and per key prefix: once over, that address (or any key
  with that prefix) is answered 429 until the window moves on, right keys included, so guessing stops.
- Sign-in attempts, per client address, right or wrong.
- Inbound webhooks, per source number: a flood from one number is refused before it is stored.
The client address is the socket's peer, never X-Forwarded-For, which a caller could forge.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from dataclasses import dataclass

from fastapi import HTTPException, Request
from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter as AsyncMovingWindow
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.types import Scope

from outreach.config import Settings
from outreach.security.secrets import session_secret

_KEY_PREFIX = "ok_"


class RateLimited(HTTPException):
    """429 with the seconds to wait in Retry-After."""

    def __init__(self, what: str, retry_after_s: int) -> None:
        detail = f"too many {what}; retry after {retry_after_s} s"
        super().__init__(429, detail, headers={"Retry-After": str(retry_after_s)})
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class _Rules:
    auth_per_address: RateLimitItem
    auth_per_key: RateLimitItem
    sign_in_per_address: RateLimitItem
    inbound_per_sender: RateLimitItem


class Limiter:
    """The app's counters (one per process, sharing Redis when configured)."""

    def __init__(self, settings: Settings) -> None:
        self.rules = _Rules(
            auth_per_address=parse(settings.rate_limit_auth_failures_per_address),
            auth_per_key=parse(settings.rate_limit_auth_failures_per_key),
            sign_in_per_address=parse(settings.rate_limit_sign_in_per_address),
            inbound_per_sender=parse(settings.rate_limit_inbound_per_sender),
        )
        redis = settings.redis_url
        self.sync = MovingWindowRateLimiter(
            storage_from_string(redis, key_prefix="outreach-rl")
            if redis
            else storage_from_string("memory://")
        )
        # limits' asyncio memory store sweeps every key through a thread on each hit: only Redis goes async.
        self.inbound_async = (
            AsyncMovingWindow(
                storage_from_string(f"async+{redis}", implementation="redispy", key_prefix="outreach-rl")
            )
            if redis
            else None
        )
        self.inbound_local = LocalGcra(self.rules.inbound_per_sender)
        self._sender_key = hmac.new(session_secret(settings), b"rate limit sender", hashlib.sha256).digest()

    def sender_id(self, phone: str) -> str:
        """A counter key for a phone number that does not reveal it."""
        return hmac.new(self._sender_key, phone.encode(), hashlib.sha256).hexdigest()[:32]

    def retry_after(self, item: RateLimitItem, *identifiers: str) -> int | None:
        """Seconds until one more is allowed, or None while under the limit."""
        if self.sync.test(item, *identifiers):
            return None
        reset = self.sync.get_window_stats(item, *identifiers).reset_time
        return max(1, math.ceil(reset - time.time()))


class LocalGcra:
    """N per period for one process, as a generic cell rate (one number per key, nothing swept).

    Used for inbound texts when there is no Redis: limits' memory store sweeps every key from a timer
    thread 100 times a second, which at a thousand texts a second from thousands of numbers cost the
    webhook more CPU than the rest of its work.
    """

    def __init__(self, item: RateLimitItem, max_keys: int = 100_000) -> None:
        self.interval = item.get_expiry() / item.amount
        self.burst = item.get_expiry() - self.interval
        self.max_keys = max_keys
        self.tat: dict[str, float] = {}

    def hit(self, key: str, now: float) -> int | None:
        """Count one for `key`: None when allowed, else the seconds to wait."""
        tat = max(self.tat.get(key, now), now)
        if tat - now > self.burst:
            return max(1, math.ceil(tat - now - self.burst))
        if len(self.tat) >= self.max_keys:  # forget the keys whose allowance has fully recovered
            self.tat = {k: t for k, t in self.tat.items() if t > now}
        self.tat[key] = tat + self.interval
        return None


def limiter_for(app_state: object, settings: Settings) -> Limiter:
    """The app's limiter, made on first use."""
    found: Limiter | None = getattr(app_state, "rate_limiter", None)
    if found is None:
        found = Limiter(settings)
        app_state.rate_limiter = found  # type: ignore[attr-defined]
    return found


def _limiter(request: Request) -> Limiter:
    return limiter_for(request.app.state, request.app.state.settings)


def client_address(scope: Scope) -> str:
    """The peer address of the connection (a proxy in front is one address: set its own limits)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _prefix(presented: str) -> str | None:
    prefix = presented.removeprefix(_KEY_PREFIX).partition("_")[0]
    return prefix[:16] if presented.startswith(_KEY_PREFIX) and prefix else None


def check_authentication_allowed(request: Request, *, presented: str) -> None:
    """429 when this address, or this key's prefix, has failed too often lately."""
    limiter = _limiter(request)
    wait = limiter.retry_after(limiter.rules.auth_per_address, "auth-address", client_address(request.scope))
    prefix = _prefix(presented)
    if wait is None and prefix is not None:
        wait = limiter.retry_after(limiter.rules.auth_per_key, "auth-key", prefix)
    if wait is not None:
        raise RateLimited("failed authentications", wait)


def note_failed_authentication(request: Request, *, presented: str) -> None:
    """Count a wrong, unknown or revoked key against its address and prefix."""
    limiter = _limiter(request)
    limiter.sync.hit(limiter.rules.auth_per_address, "auth-address", client_address(request.scope))
    prefix = _prefix(presented)
    if prefix is not None:
        limiter.sync.hit(limiter.rules.auth_per_key, "auth-key", prefix)


def check_sign_in(request: Request) -> None:
    """Count a sign-in attempt; 429 past the limit for this address."""
    limiter = _limiter(request)
    item, address = limiter.rules.sign_in_per_address, client_address(request.scope)
    if not limiter.sync.hit(item, "sign-in", address):
        raise RateLimited("sign-in attempts", limiter.retry_after(item, "sign-in", address) or 1)


async def inbound_retry_after(scope: Scope, *, from_phone: str) -> int | None:
    """Count an inbound text from this number; the seconds to wait when it is over the limit."""
    state = scope["app"].state
    limiter = limiter_for(state, state.settings)
    item, sender = limiter.rules.inbound_per_sender, limiter.sender_id(from_phone)
    if limiter.inbound_async is None:
        return limiter.inbound_local.hit(sender, time.monotonic())
    if await limiter.inbound_async.hit(item, "inbound", sender):
        return None
    reset = (await limiter.inbound_async.get_window_stats(item, "inbound", sender)).reset_time
    return max(1, math.ceil(reset - time.time()))
