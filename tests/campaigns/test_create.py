"""Campaign creation refuses steps that can never fire and texts with placeholders outside the allow-list."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from outreach.errors import Invalid
from outreach.messaging.models import MessageStatus
from tests.campaigns.support import enroll, launch_now, make_campaign, outbox
from tests.factories import create_clinic, create_patient

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"steps": [{"offset_minutes": 60}]}, "steps.0", "offset"),
        ({"steps": [{"offset_minutes": 0}]}, "steps.0", "offset"),
        ({"steps": [{"offset_minutes": -60 * 24 * 45}]}, "steps.0", "30 days"),
        ({"steps": [{}]}, "steps.0.offset_minutes", "needs an offset"),
        ({"steps": [{"offset_minutes": -60, "template": "no_such"}]}, "steps.0.template", "no_such"),
        (
            {"steps": [{"offset_minutes": -60, "bodies": {"en": "Hi {first_name}, your {diagnosis} visit"}}]},
            "steps.0.bodies.en",
            "'{diagnosis}' is not allowed (language en)",
        ),
        (
            {
                "steps": [
                    {"offset_minutes": -60, "bodies": {"en": "Hi {first_name}", "es": "Hola {frist_name}"}}
                ]
            },
            "steps.0.bodies.es",
            "'{frist_name}' is not allowed (language es)",
        ),
        (
            {"steps": [{"offset_minutes": -60, "bodies": {"es": "Hola {first_name}"}}]},
            "steps.0.bodies",
            "'en'",
        ),
        ({"steps": [{"offset_minutes": -60, "bodies": {"en": "Hi {first_name"}}]}, "steps.0.bodies.en", "en"),
        ({"steps": [{"offset_minutes": -60, "bodies": {"xx": "Hi"}}]}, "steps.0.bodies", "'xx'"),
        (
            {
                "kind": "broadcast",
                "steps": [{"send_at": "2026-05-01T10:00:00+00:00", "bodies": {"en": "Hi"}}],
            },
            "steps.0.send_at",
            "in the past",
        ),
        (
            {
                "kind": "broadcast",
                "steps": [{"send_at": "2026-07-01T10:00:00+00:00", "bodies": {"en": "{appointment_date}"}}],
            },
            "steps.0.bodies.en",
            "needs an appointment",
        ),
        ({"kind": "checkin", "steps": [{"first_after_days": 1, "every_days": 0, "times": 3}]}, "steps.0", ""),
        (
            {"kind": "checkin", "steps": [{"first_after_days": 1, "every_days": 7, "times": 500}]},
            "steps.0",
            "",
        ),
    ],
)
def test_steps_that_cannot_work_are_refused_naming_the_field(
    engine: Engine, fields: dict[str, Any], field: str, words: str
) -> None:
    clinic = create_clinic(engine)
    with pytest.raises(Invalid) as caught:
        make_campaign(engine, clinic, now=NOW, **fields)
    assert caught.value.field == field
    assert words in caught.value.reason


def test_checkin_series_keeps_the_local_time_across_a_dst_change(engine: Engine) -> None:
    clinic = create_clinic(engine)
    create_patient(engine, clinic, language="en", timezone="Europe/London")
    steps = [{"first_after_days": 1, "every_days": 7, "times": 3, "local_time": "10:00"}]
    now = datetime(2026, 3, 15, tzinfo=UTC)
    campaign = make_campaign(
        engine, clinic, now=now, kind="checkin", anchor_date=date(2026, 3, 20), steps=steps
    )
    enroll(engine, campaign, now=now)

    launch_now(engine, campaign, now=now)

    rows = outbox(engine, campaign.id)
    local = [r.send_at.astimezone(ZoneInfo("Europe/London")) for r in rows]
    assert [d.date() for d in local] == [date(2026, 3, 21), date(2026, 3, 28), date(2026, 4, 4)]
    assert {d.time() for d in local} == {time(10, 0)}  # London moves to BST on 2026-03-29
    assert rows[2].send_at - rows[1].send_at == timedelta(days=7, hours=-1)
    assert all(r.status == MessageStatus.SCHEDULED and r.kind == "checkin" for r in rows)


def test_broadcast_sends_once_at_its_time(engine: Engine) -> None:
    clinic = create_clinic(engine)
    create_patient(engine, clinic, language="es", given_name="Eva")
    at = NOW + timedelta(days=2)
    steps = [
        {
            "send_at": at.isoformat(),
            "bodies": {"en": "Flu shots at {clinic_name}", "es": "Vacunas en {clinic_name}"},
        }
    ]
    campaign = make_campaign(engine, clinic, now=NOW, kind="broadcast", steps=steps)
    enroll(engine, campaign, now=NOW)

    launch_now(engine, campaign, now=NOW)

    (row,) = outbox(engine, campaign.id)
    assert row.send_at == at
    assert row.language == "es"
    assert row.body == f"Vacunas en {clinic.name}"


def test_daily_checkins_keep_0900_across_lord_howes_half_hour_shift_2026_04_05(engine: Engine) -> None:
    clinic = create_clinic(engine)
    create_patient(engine, clinic, language="en", timezone="Australia/Lord_Howe")
    steps = [{"first_after_days": 1, "every_days": 1, "times": 3, "local_time": "09:00"}]
    now = datetime(2026, 4, 1, tzinfo=UTC)
    campaign = make_campaign(
        engine, clinic, now=now, kind="checkin", anchor_date=date(2026, 4, 3), steps=steps
    )
    enroll(engine, campaign, now=now)

    launch_now(engine, campaign, now=now)

    sends = [r.send_at for r in outbox(engine, campaign.id)]
    zone = ZoneInfo("Australia/Lord_Howe")
    assert [s.astimezone(zone).strftime("%m-%d %H:%M") for s in sends] == [
        "04-04 09:00",
        "04-05 09:00",
        "04-06 09:00",
    ]
    assert [b - a for a, b in itertools.pairwise(sends)] == [
        timedelta(hours=24, minutes=30),
        timedelta(hours=24),
    ]
