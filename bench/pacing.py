"""`python -m bench pacing --rate 50`: several processes share one sender's Redis bucket.

Prints the most sends seen in any 1-second window (never above the configured rate) and the mean.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
import uuid

import redis

from outreach.messaging.pacing import Pacer

REDIS_URL = "redis://127.0.0.1:6379/11"


def _send_as_fast_as_allowed(
    sender: str, rate: float, until: float, out: multiprocessing.Queue[list[tuple[float, float]]]
) -> None:
    pacer = Pacer(redis.Redis.from_url(REDIS_URL))
    stamps: list[tuple[float, float]] = []
    while True:
        admitted = pacer.wait(sender, rate=rate, cost=1)
        now = time.time()
        if now >= until:
            break
        stamps.append((admitted, now))
    out.put(stamps)


def max_in_window(stamps: list[float], window: float = 1.0) -> int:
    """Most events inside any half-open window of `window` seconds."""
    best, start = 0, 0
    for end, stamp in enumerate(stamps):
        while stamp - stamps[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def main(argv: list[str]) -> dict[str, object]:
    """Run the pacing benchmark and return its figures."""
    parser = argparse.ArgumentParser(prog="python -m bench pacing")
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args(argv)
    sender = f"bench-{uuid.uuid4().hex[:8]}"
    until = time.time() + args.seconds
    out: multiprocessing.Queue[list[tuple[float, float]]] = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(target=_send_as_fast_as_allowed, args=(sender, args.rate, until, out))
        for _ in range(args.workers)
    ]
    for proc in procs:
        proc.start()
    pairs = [pair for _ in procs for pair in out.get()]
    for proc in procs:
        proc.join()
    stamps = sorted(admitted for admitted, _ in pairs)  # Redis clock: what the pacer decides
    local = sorted(seen for _, seen in pairs)  # the worker's clock after waking: adds scheduling jitter
    span = max(until - local[0], 1e-9)  # from the first send to the end of the run
    return {
        "bench": "pacing",
        "configured": args.rate,
        "workers": args.workers,
        "seconds": args.seconds,
        "sent": len(stamps),
        "max_per_s_window": max_in_window(stamps),
        "max_per_s_window_local_clock": max_in_window(local),
        "mean_per_s": round(len(stamps) / span, 2),
    }
