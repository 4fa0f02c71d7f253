"""Per-sender pacing in segments per second, shared by every worker through Redis.

A generic cell-rate algorithm: each reservation moves the sender's "theoretical arrival time" forward
by cost/rate and tells the caller how long to wait. Reserving before waiting makes concurrent workers
queue fairly instead of racing. The script reads Redis's own clock, so workers' clocks do not matter.
Keys name a sender id (a hash of the sending number or service), never a patient's phone number.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

import redis

SenderType = Literal["long_code", "toll_free", "short_code"]

# Carrier throughput per sending number type (segments per second).
DEFAULT_RATES: dict[str, float] = {"long_code": 1.0, "toll_free": 3.0, "short_code": 100.0}

_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local interval = cost / rate
local tolerance = (burst - 1) / rate
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - interval - tolerance
redis.call('SET', KEYS[1], string.format('%.6f', new_tat), 'PX', math.ceil((new_tat - now) * 1000) + 1000)
if allow_at <= now then return '0' end
return string.format('%.6f', allow_at - now)
"""


def default_rate(sender_type: str) -> float:
    """Segments per second a carrier accepts from this kind of sender."""
    return DEFAULT_RATES.get(sender_type, DEFAULT_RATES["long_code"])


class Pacer:
    """Token buckets in Redis, one per sender."""

    def __init__(self, client: redis.Redis, *, key_prefix: str = "outreach:pace") -> None:
        self._client = client
        self._prefix = key_prefix
        self._script = client.register_script(_RESERVE)

    def reserve(self, sender: str, *, rate: float, burst: float, cost: int) -> float:
        """Reserve `cost` segments now; return the seconds to wait before sending them."""
        if rate <= 0 or burst < 1 or cost < 1:
            raise ValueError("rate must be positive, burst at least 1 and cost at least 1 segment")
        delay = self._script(keys=[f"{self._prefix}:{sender}"], args=[rate, burst, cost])
        return float(delay)

    def wait(
        self,
        sender: str,
        *,
        rate: float,
        burst: float,
        cost: int,
        sleep: Callable[[float], None] = time.sleep,
    ) -> float:
        """Reserve and sleep until the segments may go out; return how long it slept."""
        delay = self.reserve(sender, rate=rate, burst=burst, cost=cost)
        if delay > 0:
            sleep(delay)
        return delay
