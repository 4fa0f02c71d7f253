"""Pacing per sender through Redis: never more than the rate in any 1-second window."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import redis

from bench.pacing import max_in_window
from outreach.config import Settings
from outreach.messaging.dispatch import sender_key
from outreach.messaging.pacing import Pacer, default_rate


def _hammer(
    pacer: Pacer, sender: str, *, rate: float, seconds: float, threads: int, cost: int = 1
) -> list[float]:
    stamps: list[float] = []
    lock = threading.Lock()
    until = time.time() + seconds

    def run() -> None:
        while True:
            admitted = pacer.wait(sender, rate=rate, cost=cost)
            if time.time() >= until:
                return
            with lock:
                stamps.extend([admitted] * cost)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sorted(stamps)


def test_eight_threads_never_exceed_the_rate_in_any_second(redis_url: str) -> None:
    pacer = Pacer(redis.Redis.from_url(redis_url))
    stamps = _hammer(pacer, f"test-{uuid.uuid4().hex}", rate=20, seconds=2.5, threads=8)
    assert max_in_window(stamps) <= 20
    assert len(stamps) >= 40, "the pacer should still let the full rate through"


def test_multi_segment_texts_count_every_segment(redis_url: str) -> None:
    pacer = Pacer(redis.Redis.from_url(redis_url))
    stamps = _hammer(pacer, f"test-{uuid.uuid4().hex}", rate=10, seconds=2.2, threads=4, cost=3)
    assert max_in_window(stamps) <= 10
    assert len(stamps) >= 18


def test_senders_are_paced_separately(redis_url: str) -> None:
    pacer = Pacer(redis.Redis.from_url(redis_url))
    first, second = f"a-{uuid.uuid4().hex}", f"b-{uuid.uuid4().hex}"
    assert [pacer.try_admit(first, rate=2, cost=1)[0] for _ in range(2)] == [True, True]
    refused, wait = pacer.try_admit(first, rate=2, cost=1)
    assert not refused
    assert wait > 0.5
    assert pacer.try_admit(second, rate=2, cost=1)[0]


def test_rate_below_one_per_second_is_refused(redis_url: str) -> None:
    with pytest.raises(ValueError, match="at least 1 segment per second"):
        Pacer(redis.Redis.from_url(redis_url)).try_admit("x", rate=0.5, cost=1)


def test_carrier_defaults_and_sender_key_carries_no_number() -> None:
    assert (default_rate("long_code"), default_rate("toll_free"), default_rate("short_code")) == (
        1.0,
        3.0,
        100.0,
    )
    settings = Settings.model_validate(
        {
            "gateway": "twilio",
            "twilio_account_sid": "AC1",
            "twilio_auth_token": "t",
            "twilio_from_number": "+12025550100",
        }
    )
    key = sender_key(settings)
    assert "2025550100" not in key
    assert len(key) == 16
