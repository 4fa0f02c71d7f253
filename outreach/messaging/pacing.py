"""Per-sender pacing in segments per second, shared by every worker through Redis.

An atomic sliding-window log: a sender may start `cost` segments only when fewer than `rate` were
started in the last (1 s + guard). The guard absorbs the few milliseconds between admission and the
HTTP request leaving, so the carrier never sees more than `rate` in any 1-second window, whichever
workers were late. A refused caller is told exactly how long until a slot frees. The script reads
Redis's own clock, so workers' clocks do not matter. Keys name a sender id (a hash of the sending
number or service), never a patient's phone number.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

import redis

SenderType = Literal["long_code", "toll_free", "short_code"]

# Carrier throughput per sending number type (segments per second).
DEFAULT_RATES: dict[str, float] = {"long_code": 1.0, "toll_free": 3.0, "short_code": 100.0}
GUARD_S = 0.03

_ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local capacity, window, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local used = redis.call('ZCARD', KEYS[1])
if used + cost <= capacity then
  local n = redis.call('INCRBY', KEYS[2], cost)
  for i = 1, cost do
    redis.call('ZADD', KEYS[1], now, n - i)
  end
  redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000) + 1000)
  redis.call('PEXPIRE', KEYS[2], math.ceil(window * 1000) + 1000)
  return string.format('=%.6f', now)
end
local k = used + cost - capacity - 1
local frees = redis.call('ZRANGE', KEYS[1], k, k, 'WITHSCORES')
return string.format('%.6f', tonumber(frees[2]) + window - now + 0.0005)
"""


def default_rate(sender_type: str) -> float:
    """Segments per second a carrier accepts from this kind of sender."""
    return DEFAULT_RATES.get(sender_type, DEFAULT_RATES["long_code"])


class Pacer:
    """Sliding-window limits in Redis, one per sender."""

    def __init__(self, client: redis.Redis, *, key_prefix: str = "outreach:pace") -> None:
        self._prefix = key_prefix
        self._script = client.register_script(_ADMIT)

    def try_admit(self, sender: str, *, rate: float, cost: int) -> tuple[bool, float]:
        """Admit `cost` segments now: (True, Redis time of admission), or (False, seconds to wait)."""
        if rate < 1 or cost < 1:
            raise ValueError("rate must be at least 1 segment per second and cost at least 1 segment")
        capacity = max(int(rate), cost)  # a text longer than the rate still goes out, alone
        keys = [f"{self._prefix}:{sender}", f"{self._prefix}:{sender}:seq"]
        answer = self._script(keys=keys, args=[capacity, 1.0 + GUARD_S, cost])
        text = answer.decode() if isinstance(answer, bytes) else str(answer)
        return (True, float(text[1:])) if text.startswith("=") else (False, float(text))

    def wait(
        self, sender: str, *, rate: float, cost: int, sleep: Callable[[float], None] = time.sleep
    ) -> float:
        """Block until `cost` segments may go out for this sender; return the Redis time of admission."""
        while True:
            admitted, value = self.try_admit(sender, rate=rate, cost=cost)
            if admitted:
                return value
            sleep(value)
