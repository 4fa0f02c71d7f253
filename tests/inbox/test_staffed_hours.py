"""Staffed hours: a free-text reply outside them is told, in the patient's language, when the team will
answer; the HELP answer names the program in the patient's language."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from outreach.clinics.hours import check_hours, next_opening
from outreach.clinics.service import set_program_names, set_staffed_hours
from outreach.config import Settings
from outreach.db import session_scope, utcnow
from outreach.errors import Invalid
from tests.factories import create_clinic, create_patient
from tests.inbox.support import CLINIC_PHONE, text_in

NY = "America/New_York"
NINE, FIVE = time(9, 0), time(17, 0)


def test_next_opening_across_the_spring_dst_change() -> None:
    # Saturday 2026-03-07 20:00 EST; clocks go forward on Sunday 2026-03-08 in America/New_York.
    saturday_evening = datetime(2026, 3, 8, 1, 0, tzinfo=UTC)
    monday_nine_edt = datetime(2026, 3, 9, 13, 0, tzinfo=UTC)  # 09:00 EDT is 13:00 UTC (it was 14:00 in EST)
    assert next_opening(now=saturday_evening, tz=NY, start=NINE, end=FIVE, days="12345") == monday_nine_edt


def test_open_hours_promise_nothing_and_closing_time_points_to_the_next_day() -> None:
    friday_1659 = datetime(2026, 3, 6, 21, 59, tzinfo=UTC)  # 16:59 EST
    assert next_opening(now=friday_1659, tz=NY, start=NINE, end=FIVE, days="12345") is None
    friday_1700 = datetime(2026, 3, 6, 22, 0, tzinfo=UTC)
    assert next_opening(now=friday_1700, tz=NY, start=NINE, end=FIVE, days="12345") == datetime(
        2026, 3, 9, 13, 0, tzinfo=UTC
    )
    assert next_opening(now=friday_1700, tz=NY, start=None, end=None, days="12345") is None


def test_hours_must_make_sense() -> None:
    with pytest.raises(Invalid, match="not after"):
        check_hours(start=FIVE, end=NINE, days="12345")
    with pytest.raises(Invalid, match="ISO weekdays"):
        check_hours(start=NINE, end=FIVE, days="8")
    assert check_hours(start=NINE, end=FIVE, days="531") == "135"


def _closed_today(engine: Engine, clinic_id: uuid.UUID) -> datetime:
    """Hours on every day but today (clinic time), 09:00–17:00; returns tomorrow's opening."""
    today = utcnow().astimezone(ZoneInfo(NY)).date()
    days = "".join(str(d) for d in range(1, 8) if d != today.isoweekday())
    with session_scope(engine) as session:
        set_staffed_hours(session=session, clinic_id=clinic_id, start=NINE, end=FIVE, days=days)
    return datetime.combine(today + timedelta(days=1), NINE, ZoneInfo(NY))


def test_outside_hours_a_question_is_acknowledged_in_spanish_with_when(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    clinic = create_clinic(engine, phone=CLINIC_PHONE, timezone=NY)
    ana = create_patient(engine, clinic, language="es-MX", timezone=NY)
    opening = _closed_today(engine, clinic.id)
    answer = text_in(client, settings, "¿Puedo llegar 10 minutos tarde?", sender=ana.phone)
    assert answer.status_code == 200
    assert "Recibimos su mensaje" in answer.text
    assert opening.strftime("%-d") in answer.text  # the day the team opens again
    assert "9:00" in answer.text


def test_inside_hours_a_question_gets_no_automatic_answer(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    clinic = create_clinic(engine, phone=CLINIC_PHONE, timezone=NY)
    ana = create_patient(engine, clinic, language="es", timezone=NY)
    with session_scope(engine) as session:
        set_staffed_hours(
            session=session, clinic_id=clinic.id, start=time(0, 0), end=time(23, 59), days="1234567"
        )
    answer = text_in(client, settings, "¿Puedo llegar tarde?", sender=ana.phone)
    assert "<Message>" not in answer.text


def test_a_chinese_help_answer_is_all_chinese(client: TestClient, settings: Settings, engine: Engine) -> None:
    clinic = create_clinic(engine, phone=CLINIC_PHONE)
    wei = create_patient(engine, clinic, language="zh-CN")
    answer = text_in(client, settings, "帮助", sender=wei.phone)
    assert "预约和护理短信" in answer.text
    assert "Appointment and care texts" not in answer.text
    with session_scope(engine) as session:  # the clinic's own name for Chinese wins
        set_program_names(session=session, clinic_id=clinic.id, names={"zh-Hans": "河畔诊所短信"})
    assert "河畔诊所短信" in text_in(client, settings, "帮助", sender=wei.phone).text
