"""Per-sender pacing in segments per second, shared by every worker through Redis.

A token bucket kept as one timestamp per sender (GCRA): `reserve` books the caller's segments at the
earliest moment the bucket allows and returns how long to wait, so concurrent workers queue in arrival
order instead of polling. The script reads Redis's own clock, so workers' clocks do not matter.

Slots are spaced `(1 + GUARD_S) / rate` apart rather than `1 / rate`: a worker that wakes up to
GUARD_S seconds late (scheduler jitter) can then never push any 1-second window above the rate, at the
price of running ~3% under it. A worker that wakes later than that gives its slot up and books again.

Keys name a sender id ("default", a Messaging Service SID, or a hash of the sending number: see
`messaging.dispatch.sender_key`), never a patient's phone number. Idle keys expire on their own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from redis import Redis

SenderType = Literal["long_code", "toll_free", "short_code"]

# Carrier throughput per sending number type, in segments per second (US carriers, Twilio's guidance).
DEFAULT_RATES: dict[str, float] = {"long_code": 1.0, "toll_free": 3.0, "short_code": 100.0}
GUARD_S = 0.02

# KEYS[1] bucket; ARGV: seconds per segment, burst (segments), cost (segments).
# The bucket stores TAT, the moment it would be full again if nobody sent. A send of `cost` moves TAT
# forward by cost*interval from max(TAT, now) and may start once TAT - burst*interval has come.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + cost * interval
local start = new_tat - burst * interval
redis.call('SET', KEYS[1], string.format('%.6f', new_tat), 'PX', math.ceil((new_tat - now) * 1000) + 1000)
if start <= now then return '0' end
return string.format('%.6f', start - now)
"""


def default_rate(sender_type: str) -> float:
    """Segments per second a carrier accepts from this kind of sender (long code when unknown)."""
    return DEFAULT_RATES.get(sender_type, DEFAULT_RATES["long_code"])


class Pacer:
    """Token buckets in Redis, one per sender, shared by every process that uses the same prefix."""

    def __init__(self, redis: Redis, *, key_prefix: str = "outreach:pace") -> None:
        self._prefix = key_prefix
        # redis-py runs it with EVALSHA and loads it again when the server answers NOSCRIPT (restart).
        self._script = redis.register_script(_RESERVE)

    def reserve(self, sender: str, *, rate: float, burst: float = 1.0, cost: int = 1) -> float:
        """Book `cost` segments for this sender now; return the seconds to wait before sending them."""
        if rate <= 0 or burst < 1 or cost < 1:
            raise ValueError("rate must be above 0, burst at least 1 segment and cost at least 1 segment")
        interval = (1.0 + GUARD_S) / rate
        answer = self._script(keys=[f"{self._prefix}:{sender}"], args=[repr(interval), repr(burst), cost])
        return float(answer.decode() if isinstance(answer, bytes) else answer)

    def wait(
        self,
        sender: str,
        *,
        rate: float,
        burst: float = 1.0,
        cost: int = 1,
        sleep: Callable[[float], None] = time.sleep,
    ) -> float:
        """Reserve, then sleep until the segments may go out; return the seconds spent waiting."""
        began = time.monotonic()
        while True:
            asked = time.monotonic()
            delay = self.reserve(sender, rate=rate, burst=burst, cost=cost)
            if delay <= 0:
                return time.monotonic() - began
            sleep(delay)
            # Woken later than the guard (a starved CPU): the slot has passed and later slots may be
            # due, so sending now could crowd a 1-second window. Give the slot up and book again.
            if time.monotonic() - (asked + delay) <= GUARD_S:
                return time.monotonic() - began
