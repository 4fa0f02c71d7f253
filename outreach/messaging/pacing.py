"""Per-sender pacing in segments per second, shared by every worker through Redis.

A token bucket kept as one timestamp per sender (GCRA): `reserve` books the caller's segments at the
earliest moment the bucket allows and returns how long to wait, so concurrent workers queue in arrival
order instead of polling. The script reads Redis's own clock, so workers' clocks do not matter.

Slots are spaced `(1 + GUARD_S) / rate` apart rather than `1 / rate`: a worker that wakes up to
GUARD_S seconds late (scheduler jitter) can then never push any 1-second window above the rate, at the
price of running ~3% under it. A worker that wakes later than that gives its slot up and books again.

A process books slots for its own threads together: a thread that finds no slot left for its sender
books one for every thread of the process waiting on that sender (at most LEASE_S of the sender's
time), and the others take theirs from that booking, so a busy process makes one Redis call for many
texts instead of one per text. Each slot keeps its own time and deadline, exactly as if it had been
booked alone, so the rate holds the same way; a slot nobody took before its deadline is simply unused.

A fast sender's texts go out in groups (`wait_group`): the texts whose slots fall within GROUP_S of the
first one's all start at the last one's slot, which is never before any of their own slots and (since
GROUP_S is half the guard) no later than any of their deadlines. One wake-up, one database statement and
one burst of concurrent requests then serve many texts. A slow sender (a long code's 1 segment/s) has one
text per group, as before.

Keys name a sender id ("default", a Messaging Service SID, or a hash of the sending number: see
`messaging.dispatch.sender_key`), never a patient's phone number. Idle keys expire on their own.
"""

from __future__ import annotations

import bisect
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from redis import Redis

SenderType = Literal["long_code", "toll_free", "short_code"]

# Carrier throughput per sending number type, in segments per second (US carriers, Twilio's guidance).
DEFAULT_RATES: dict[str, float] = {"long_code": 1.0, "toll_free": 3.0, "short_code": 100.0}
GUARD_S = 0.02
LEASE_S = 0.05  # the most of one sender's time a process books ahead for its waiting threads
GROUP_S = GUARD_S / 2  # texts whose slots fall this close together start together

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


@dataclass(slots=True)
class _Booked:
    """One sender's slots this process booked and no thread has taken yet, one per segment, oldest first.

    Each is (not before, deadline) on this process's monotonic clock: the moment the segment may start
    (counted from when Redis answered, so never early) and the latest start that still keeps the rate
    (counted from when it was asked, plus GUARD_S).
    """

    lock: threading.Lock = field(default_factory=threading.Lock)
    slots: deque[tuple[float, float]] = field(default_factory=deque)
    waiting: int = 0  # threads of this process inside `wait` for this sender


class Pacer:
    """Token buckets in Redis, one per sender, shared by every process that uses the same prefix."""

    def __init__(self, redis: Redis, *, key_prefix: str = "outreach:pace") -> None:
        self._prefix = key_prefix
        # redis-py runs it with EVALSHA and loads it again when the server answers NOSCRIPT (restart).
        self._script = redis.register_script(_RESERVE)
        self._booked: dict[str, _Booked] = {}
        self._booked_lock = threading.Lock()

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
        """Take a slot of `cost` segments (booking when none is left), sleep until it; return the wait."""
        if burst != 1:  # a burst lets segments share a moment: each booking stands alone
            return self._wait_alone(sender, rate=rate, burst=burst, cost=cost, sleep=sleep)
        return self.wait_group(sender, rate=rate, costs=[cost], sleep=sleep)[1]

    def wait_group(
        self,
        sender: str,
        *,
        rate: float,
        costs: Sequence[int],
        sleep: Callable[[float], None] = time.sleep,
    ) -> tuple[int, float]:
        """Wait until the first texts of `costs` (segments each) may start together; return (how many, wait).

        At least one text, and as many more as have slots within GROUP_S of the first one's. A thread woken
        later than the group's deadline (a starved CPU) gives its slots up and takes others: sending then
        could crowd a 1-second window.
        """
        if not costs or rate <= 0 or min(costs) < 1:
            raise ValueError("rate must be above 0 and every text cost at least 1 segment")
        began = time.monotonic()
        booked = self._booked_for(sender)
        with self._booked_lock:
            booked.waiting += 1
        try:
            while True:
                count, not_before, deadline = self._take(sender, booked, rate=rate, costs=costs)
                delay = not_before - time.monotonic()
                if delay > 0:
                    sleep(delay)
                if time.monotonic() <= deadline:
                    return count, time.monotonic() - began
        finally:
            with self._booked_lock:
                booked.waiting -= 1

    def _booked_for(self, sender: str) -> _Booked:
        with self._booked_lock:
            booked = self._booked.get(sender)
            if booked is None:
                booked = self._booked[sender] = _Booked()
            return booked

    def _take(
        self, sender: str, booked: _Booked, *, rate: float, costs: Sequence[int]
    ) -> tuple[int, float, float]:
        """Slots for the first texts of `costs` from this process's booking (booking more when short).

        Returns (texts, not before, deadline): a text starts at its last segment's slot, as one booking
        would; the group starts at its last text's and must start by its first text's deadline.
        """
        interval = (1.0 + GUARD_S) / rate
        cap = max(costs[0], int(rate * GROUP_S))  # the most segments one group may hold
        ends = list(itertools.accumulate(costs))  # ends[k]: segments up to and including text k
        ends = ends[: max(1, bisect.bisect_right(ends, cap))]
        with booked.lock:
            now = time.monotonic()
            slots = booked.slots
            while slots and slots[0][1] < now:  # past its deadline: nobody may use it
                slots.popleft()
            missing = ends[-1] - len(slots)
            if missing > 0:
                most = max(1, int(rate * LEASE_S))
                count = max(missing, min(most, booked.waiting * ends[-1] - len(slots)))
                asked = time.monotonic()
                last = self.reserve(sender, rate=rate, burst=1, cost=count)
                answered = time.monotonic()
                for k in range(count):  # the last segment starts `last` from now, the others before it
                    offset = max(0.0, last - (count - 1 - k) * interval)
                    slots.append((answered + offset, asked + offset + GUARD_S))
            first_starts, deadline = slots[ends[0] - 1]
            texts = 1
            while texts < len(ends) and slots[ends[texts] - 1][0] - first_starts <= GROUP_S:
                texts += 1
            not_before = slots[ends[texts - 1] - 1][0]
            for _ in range(ends[texts - 1]):
                slots.popleft()
            return texts, not_before, deadline

    def _wait_alone(
        self, sender: str, *, rate: float, burst: float, cost: int, sleep: Callable[[float], None]
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
