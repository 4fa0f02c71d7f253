"""A clinic whose Spanish- and Somali-speaking patients were reached less: for the page and browser tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from outreach.clinics.models import Clinic
from tests.reports.seed import campaign, patients, replies, texts

START = datetime(2026, 10, 5, 15, 0, tzinfo=UTC)  # a Monday
# language tag, patients, delivered share, confirmed share of delivered
GROUPS = [
    ("en", 700, 0.90, 0.70),
    ("es-MX", 480, 0.70, 0.50),
    ("so", 180, 0.60, 0.45),
    ("vi", 300, 0.75, 0.68),
]


def seed_gap_clinic(engine: Engine, clinic: Clinic) -> uuid.UUID:
    """A reminder campaign over six weeks; returns its id."""
    everyone: dict[str, list[uuid.UUID]] = {
        tag: patients(engine, clinic, n, language=tag) for tag, n, _, _ in GROUPS
    }
    cid = campaign(engine, clinic, [p for ids in everyone.values() for p in ids])
    for tag, n, delivered_share, confirmed_share in GROUPS:
        ids = everyone[tag]
        reached = round(n * delivered_share)
        used = "en" if tag == "so" else tag.split("-")[0]
        for week in range(6):
            part = ids[week::6]
            at = START + timedelta(weeks=week)
            cut = round(len(part) * delivered_share)
            ok = texts(engine, clinic, cid, part[:cut], status="delivered", language=used, at=at)
            texts(engine, clinic, cid, part[cut:], status="failed", error_code=30007, language=used, at=at)
            replies(engine, clinic, ok[: round(len(ok) * confirmed_share)], kind="confirm")
        assert reached
    return cid
