"""A six-week post-discharge series for patients in three zones, discharged on different days around the
end of daylight saving time (Europe/Berlin on 2026-10-25, America/New_York on 2026-11-01; America/Phoenix
keeps none), driven by the launch worker's windows as the clock moves."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from freezegun import freeze_time
from sqlalchemy.engine import Engine

from outreach.campaigns import materialize
from outreach.campaigns.materialize import AHEAD
from outreach.db import utcnow
from outreach.messaging.models import MessageStatus
from tests.factories import create_clinic, create_patient
from tests.journeys.support import discharge, journey_campaign, journeys, texts

START = datetime(2026, 10, 19, 12, 0, tzinfo=UTC)


def _z(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# Hand-computed: 48 h after the discharge (quiet hours 21:00-08:00 move a night-time one to 08:00), then
# 10:00 local on the same weekday for six weeks, the UTC hour shifting when the patient's zone leaves DST.
EXPECTED = {
    # discharged Tue 2026-10-20 15:30 EDT (19:30Z)
    "America/New_York": ["2026-10-22 19:30", "2026-10-27 14:00", "2026-11-03 15:00", "2026-11-10 15:00",
                         "2026-11-17 15:00", "2026-11-24 15:00", "2026-12-01 15:00"],
    # discharged Thu 2026-10-22 19:00 MST (Fri 02:00Z); no DST
    "America/Phoenix": ["2026-10-25 02:00", "2026-10-29 17:00", "2026-11-05 17:00", "2026-11-12 17:00",
                        "2026-11-19 17:00", "2026-11-26 17:00", "2026-12-03 17:00"],
    # discharged Sat 2026-10-24 22:30 CEST (20:30Z); 48 h later is 21:30 CET, in quiet hours: 08:00 CET
    "Europe/Berlin": ["2026-10-27 07:00", "2026-10-31 09:00", "2026-11-07 09:00", "2026-11-14 09:00",
                      "2026-11-21 09:00", "2026-11-28 09:00", "2026-12-05 09:00"],
}  # fmt: skip
DISCHARGED = {
    "America/New_York": _z("2026-10-20 19:30"),
    "America/Phoenix": _z("2026-10-23 02:00"),
    "Europe/Berlin": _z("2026-10-24 20:30"),
}


def test_each_patient_gets_their_series_from_their_own_discharge_in_their_own_zone(engine: Engine) -> None:
    clinic = create_clinic(engine, quiet_hours=(time(21, 0), time(8, 0)))
    campaign = journey_campaign(engine, clinic, now=START, ahead=AHEAD)
    people = {tz: create_patient(engine, clinic, timezone=tz, language="en") for tz in EXPECTED}
    pending = dict(DISCHARGED)
    with freeze_time(START) as clock:
        now = START
        while now < _z("2026-12-07 00:00"):
            for tz, at in list(pending.items()):
                if now >= at + timedelta(hours=1):  # the discharge reaches us an hour later
                    report = discharge(engine, clinic, people[tz].id, at)
                    assert (report.recorded, report.journeys_started) == (1, 1)
                    del pending[tz]
            materialize.run(engine=engine, now=utcnow(), ahead=AHEAD)
            now += timedelta(hours=6)
            clock.move_to(now)
    for tz, expected in EXPECTED.items():
        (journey,) = journeys(engine, people[tz].id)
        rows = texts(engine, journey.id)
        assert [r.send_at for r in rows] == [_z(e) for e in expected], tz
        assert {r.status for r in rows} == {MessageStatus.SCHEDULED}
        assert all(r.campaign_id == campaign.id and r.language == "en" for r in rows)
        # written ahead of its time, never after it
        assert all(r.send_at - r.created_at >= AHEAD for r in rows), tz
