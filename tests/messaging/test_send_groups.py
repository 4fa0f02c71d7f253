"""Sending in groups: a fast sender's texts are taken together and go out at once, each still at most once."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import timedelta

import pytest
import redis
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from fakes.twilio import FakeTwilio
from outreach.db import session_scope, utcnow
from outreach.messaging import scheduler, sender
from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.messaging.pacing import Pacer
from outreach.models import Clinic
from outreach.patients.models import ConsentStatus, Patient
from outreach.sms.twilio import TwilioGateway
from tests.factories import create_clinic, create_one_off, create_patient


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as server:
        yield server


def _gateway(fake: FakeTwilio) -> TwilioGateway:
    return TwilioGateway(
        account_sid=fake.account_sid,
        auth_token=fake.auth_token,
        from_number="+12025550100",
        api_base_url=fake.url,
    )


def _claimed(engine: Engine, clinic: Clinic, count: int) -> tuple[list[tuple[uuid.UUID, int]], list[Patient]]:
    """`count` patients with a text each, claimed: the batch in the patients' order, and the patients."""
    people = [create_patient(engine, clinic) for _ in range(count)]
    ids = [create_one_off(engine, clinic, person, body="Su cita es mañana") for person in people]
    with session_scope(engine) as session:
        claimed = dict(scheduler.claim_due(session=session, now=utcnow() + timedelta(seconds=1), limit=100))
    return [(mid, claimed[mid]) for mid in ids], people


def _statuses(engine: Engine, ids: Sequence[uuid.UUID]) -> list[str]:
    with Session(engine) as session:
        return [str(session.get(OutboundMessage, mid).status) for mid in ids]  # type: ignore[union-attr]


def _revoke(engine: Engine, patient: Patient) -> None:
    """Consent withdrawn as a STOP's commit would, without cancelling (the race the take must catch)."""
    with session_scope(engine) as session:
        row = session.get(Patient, patient.id)
        assert row is not None
        row.consent = ConsentStatus.REVOKED
        session.add(row)


def test_a_fast_senders_batch_is_taken_in_one_statement_and_sent_at_once(
    engine: Engine, fake: FakeTwilio, redis_url: str
) -> None:
    fake.latency_s = 1.0  # long enough that a loaded machine's overhead cannot hide one-by-one sending
    items, _ = _claimed(engine, create_clinic(engine), 12)
    pacer = Pacer(redis.Redis.from_url(redis_url), key_prefix=f"test:pace:{uuid.uuid4().hex}")
    groups: list[int] = []

    def pace(costs: Sequence[int]) -> int:
        count, _ = pacer.wait_group("short-code", rate=2000, costs=costs)
        groups.append(count)
        return count

    takes: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("UPDATE OUTBOUND_MESSAGE SET STATUS"):
            takes.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        began = time.monotonic()
        policy = sender.SendPolicy(status_callback_base="https://outreach.example.org")
        outcomes = sender.send_batch(
            engine=engine, items=items, gateway=_gateway(fake), policy=policy, pace=pace
        )
        took = time.monotonic() - began
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert outcomes == {"sent": 12}
    assert sum(groups) == 12
    assert len(groups) <= 3, f"groups of {groups}: a fast sender's texts should go together"
    assert took < 12 * 1.0 / 2, f"12 texts at 1 s each took {took:.1f} s: they went one after another"
    assert len(takes) == len(groups) + 1, "one statement takes each group, one records the batch as sent"
    assert _statuses(engine, [mid for mid, _ in items]) == ["sent"] * 12
    assert [fake.requests_for(str(mid)) for mid, _ in items] == [1] * 12, "each text was asked for once"
    assert len(fake.creates) == 12


def test_a_patient_who_withdrew_consent_before_the_groups_turn_gets_nothing(
    engine: Engine, fake: FakeTwilio
) -> None:
    items, people = _claimed(engine, create_clinic(engine), 3)
    _revoke(engine, people[1])
    outcomes = sender.send_batch(
        engine=engine, items=items, gateway=_gateway(fake), policy=sender.SendPolicy()
    )
    assert outcomes == {"sent": 2, "skipped": 1}
    assert _statuses(engine, [mid for mid, _ in items]) == ["sent", "cancelled", "sent"]
    with Session(engine) as session:
        refused = session.get(OutboundMessage, items[1][0])
        assert refused is not None
        assert refused.error_reason == "patient has not agreed to get texts"
    assert sorted(message.to for message in fake.creates) == sorted([people[0].phone, people[2].phone])


def test_a_stop_while_a_group_waits_its_turn_stops_that_group_only(engine: Engine, fake: FakeTwilio) -> None:
    items, people = _claimed(engine, create_clinic(engine), 3)
    turns = iter(range(3))

    def pace(costs: Sequence[int]) -> int:  # a slow sender: one text per group
        if next(turns) == 1:
            _revoke(engine, people[1])  # the STOP lands while the second text waits
        return 1

    outcomes = sender.send_batch(
        engine=engine, items=items, gateway=_gateway(fake), policy=sender.SendPolicy(), pace=pace
    )
    assert outcomes == {"sent": 2, "skipped": 1}
    assert _statuses(engine, [mid for mid, _ in items]) == ["sent", "cancelled", "sent"]


def test_each_text_of_a_group_gets_its_own_answer(engine: Engine, fake: FakeTwilio) -> None:
    items, people = _claimed(engine, create_clinic(engine), 4)
    fake.number_errors[people[2].phone] = 21211  # not a mobile number
    outcomes = sender.send_batch(
        engine=engine, items=items, gateway=_gateway(fake), policy=sender.SendPolicy()
    )
    assert outcomes == {"sent": 3, "failed": 1}
    assert _statuses(engine, [mid for mid, _ in items]) == ["sent", "sent", "failed", "sent"]
    with Session(engine) as session:
        sent = [session.get(OutboundMessage, mid) for mid, _ in items]
    sids = {message.sid for message in fake.creates}
    assert {m.provider_sid for m in sent if m is not None and m.status == MessageStatus.SENT} == sids


def test_a_claim_fills_its_batch_past_texts_it_settles_and_settles_only_what_it_reached(
    engine: Engine,
) -> None:
    clinic = create_clinic(engine)
    people = [create_patient(engine, clinic) for _ in range(9)]
    for index, person in enumerate(people):  # one a minute, in order
        create_one_off(
            engine, clinic, person, body=f"Text {index}", send_at=utcnow() + timedelta(minutes=index + 1)
        )
    for person in people[:3] + people[7:]:  # the three oldest and the two newest texts' patients
        _revoke(engine, person)
    with session_scope(engine) as session:
        claimed = scheduler.claim_due(session=session, now=utcnow() + timedelta(minutes=10), limit=4)
    with Session(engine) as session:
        rows = session.exec(select(OutboundMessage).order_by(col(OutboundMessage.send_at))).all()
    assert len(claimed) == 4, "the batch is filled from the next due texts"
    assert [str(row.status) for row in rows] == ["cancelled"] * 3 + ["queued"] * 4 + ["scheduled"] * 2
    assert {mid for mid, _ in claimed} == {row.id for row in rows[3:7]}
