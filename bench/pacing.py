"""`python -m bench pacing --rate 50 [--seconds 10 --workers 4]`: processes share one sender's bucket.

Each worker process "sends" (records its own clock right after the pacer lets it go) as fast as the
pacer allows. Reports the most sends in any sliding 1-second window, which must never exceed the
configured rate (burst is 1), and the mean rate, which should be within 5% of it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time
import uuid
from multiprocessing.queues import Queue

import redis

from outreach.messaging.pacing import Pacer

REDIS_URL = os.environ.get("OUTREACH_BENCH_REDIS", "redis://127.0.0.1:6379/15")
BURST = 1.0


def _send_as_fast_as_allowed(
    sender: str, rate: float, start: float, until: float, out: Queue[list[float]]
) -> None:
    pacer = Pacer(redis.Redis.from_url(REDIS_URL), key_prefix="bench:pace")
    stamps: list[float] = []
    time.sleep(max(0.0, start - time.time()))  # every worker begins together, after its imports
    while True:
        pacer.wait(sender, rate=rate, burst=BURST, cost=1)
        now = time.time()
        if now >= until:
            break
        stamps.append(now)
    out.put(stamps)


def max_in_window(stamps: list[float], window: float = 1.0) -> int:
    """Most events inside any half-open window of `window` seconds (stamps sorted)."""
    best, start = 0, 0
    for end, stamp in enumerate(stamps):
        while stamp - stamps[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def main(argv: list[str]) -> dict[str, object]:
    """Run the pacing benchmark and return its figures."""
    parser = argparse.ArgumentParser(prog="python -m bench pacing")
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args(argv)
    sender = f"bench-{uuid.uuid4().hex[:8]}"
    start = time.time() + 1.0
    until = start + args.seconds
    out: Queue[list[float]] = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(target=_send_as_fast_as_allowed, args=(sender, args.rate, start, until, out))
        for _ in range(args.workers)
    ]
    for proc in procs:
        proc.start()
    stamps = sorted(stamp for _ in procs for stamp in out.get())
    for proc in procs:
        proc.join()
    return {
        "bench": "pacing",
        "configured": args.rate,
        "burst": BURST,
        "workers": args.workers,
        "seconds": args.seconds,
        "sent": len(stamps),
        "max_per_s_window": max_in_window(stamps),
        "mean_per_s": round(len(stamps) / args.seconds, 2),
        "mean_vs_configured": round(len(stamps) / args.seconds / args.rate, 3),
    }
