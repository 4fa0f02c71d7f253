"""`python -m bench render`: 100,000 texts across every language, against plain str.format of English."""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta

from outreach.i18n import SUPPORTED, TemplateKey, render_template
from outreach.i18n.messages import TEMPLATES

ZONES = ("America/New_York", "America/Chicago", "America/Los_Angeles", "Pacific/Honolulu", "America/Denver")


def _workload(count: int, seed: int) -> list[tuple[TemplateKey, str, dict[str, object], str]]:
    rng = random.Random(seed)
    start = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
    slots = [start + timedelta(minutes=15 * i) for i in range(600)]  # a clinic's appointment grid
    names = ("Ana", "Linh", "Wei", "Amina", "Faadumo", "Jean", "James", "Ji-woo", "Olena", "Jose")
    work = []
    for _ in range(count):
        slot = rng.choice(slots)
        values: dict[str, object] = {
            "clinic_name": "Riverside Community Clinic",
            "first_name": rng.choice(names),
            "appointment_date": slot,
            "appointment_time": slot,
            "appointment_location": "Main St",
            "clinic_phone": "+1 202-555-0100",
        }
        work.append((rng.choice(list(TemplateKey)), rng.choice(SUPPORTED), values, rng.choice(ZONES)))
    return work


def main(argv: list[str]) -> dict[str, object]:
    """Run the render benchmark and return its figures."""
    parser = argparse.ArgumentParser(prog="python -m bench render")
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    work = _workload(args.messages, args.seed)
    render_template(TemplateKey.APPOINTMENT_REMINDER, tag="en", values=work[0][2])  # load code paths once
    started = time.perf_counter()
    segments = 0
    for key, tag, values, tz in work:
        segments += render_template(key, tag=tag, values=values, tz=tz).segments.segments
    rendered_s = time.perf_counter() - started
    started = time.perf_counter()
    for key, _tag, values, _tz in work:
        text = TEMPLATES[key]
        text.format(
            **{
                k: values.get(k, "")
                for k in ("clinic_name", "first_name", "appointment_location", "clinic_phone")
            },
            appointment_date="Tuesday, March 3",
            appointment_time="2:30 PM",
        )
    raw_s = time.perf_counter() - started
    rate, raw = args.messages / rendered_s, args.messages / raw_s
    return {
        "bench": "render",
        "messages": args.messages,
        "languages": len(SUPPORTED),
        "segments": segments,
        "messages_per_s": round(rate),
        "raw_format_per_s": round(raw),
        "ratio_vs_raw": round(rate / raw, 3),
    }
