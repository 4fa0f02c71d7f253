"""Outbound: each text records and uses its clinic's sender (or its campaign's), through the real SDK."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fakes.twilio import FakeTwilio
from outreach.campaigns.models import Campaign, CampaignKind
from outreach.config import Settings
from outreach.db import engine_for, session_scope, utcnow
from outreach.messaging import scheduler, sender
from outreach.messaging import service as messaging
from outreach.messaging.dispatch import rate_batch_size
from outreach.messaging.models import OutboundMessage
from outreach.senders import routing
from tests.factories import create_clinic, create_patient
from tests.senders.support import create_sender

DEPLOYMENT_NUMBER = "+12025550199"


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as running:
        yield running


def _twilio(database_url: str, fake: FakeTwilio, tmp: Path) -> Settings:
    return Settings.model_validate(
        {
            "database_url": database_url,
            "data_dir": tmp,
            "gateway": "twilio",
            "twilio_account_sid": fake.account_sid,
            "twilio_auth_token": fake.auth_token,
            "twilio_from_number": DEPLOYMENT_NUMBER,
            "twilio_api_base_url": fake.url,
        }
    )


def _one_off(engine: Engine, clinic_id: uuid.UUID, patient_id: uuid.UUID, body: str) -> uuid.UUID:
    with session_scope(engine) as session:
        message = messaging.create_one_off(
            session=session,
            clinic_id=clinic_id,
            patient_id=patient_id,
            body=body,
            send_at=None,
            language="en",
            now=utcnow(),
        )
        return message.id


def test_texts_go_out_from_their_own_clinics_sender_and_record_it(
    database_url: str, fake: FakeTwilio, tmp_path: Path
) -> None:
    settings = _twilio(database_url, fake, tmp_path)
    engine = engine_for(database_url)
    north = create_clinic(engine, name="North", phone="+12025550100")
    south = create_clinic(engine, name="South", phone="+12025550200")
    plain = create_clinic(engine, name="Plain", phone="+12025550300")  # no senders: the deployment's number
    north_main = create_sender(engine, settings, north, phone_number="+12025550111", rate_per_s=1)
    north_flu = create_sender(
        engine, settings, north, phone_number="+18005550133", sender_type="toll_free", rate_per_s=3
    )
    south_main = create_sender(engine, settings, south, messaging_service_sid="MG" + "5" * 32, rate_per_s=20)
    campaign = Campaign(
        clinic_id=north.id, name="Flu shots", kind=CampaignKind.BROADCAST, sender_id=north_flu.id
    )
    with session_scope(engine) as session:
        session.add(campaign)
    people = {c.name: create_patient(engine, c) for c in (north, south, plain)}
    ids = {
        "north": _one_off(engine, north.id, people["North"].id, "North one"),
        "south": _one_off(engine, south.id, people["South"].id, "South one"),
        "plain": _one_off(engine, plain.id, people["Plain"].id, "Plain one"),
        "north-2": _one_off(engine, north.id, people["North"].id, "North two"),
    }
    with session_scope(engine) as session:
        flu = session.get(OutboundMessage, ids["north-2"])
        assert flu is not None
        flu.campaign_id = campaign.id
        session.add(flu)
    with session_scope(engine) as session:
        claimed = scheduler.claim_due(session=session, now=utcnow() + timedelta(seconds=1), limit=100)
        senders = routing.assign(session=session, ids=[mid for mid, _ in claimed])
    book = routing.SenderBook(settings=settings, engine=engine)
    batches = list(routing.by_sender(claimed, senders, lambda s: rate_batch_size(book.route(s).rate)))
    assert sorted((str(s), len(b)) for s, b in batches) == sorted(
        [(str(north_main.id), 1), (str(north_flu.id), 1), (str(south_main.id), 1), ("None", 1)]
    )
    gateway = routing.RoutingGateway(book)
    for _, batch in batches:
        sender.send_batch(engine=engine, items=batch, gateway=gateway, policy=sender.SendPolicy())
    sent_from = {m.body: m.sender for m in fake.creates}
    assert sent_from == {
        "North one": {"From": "+12025550111"},
        "North two": {"From": "+18005550133"},
        "South one": {"MessagingServiceSid": "MG" + "5" * 32},
        "Plain one": {"From": DEPLOYMENT_NUMBER},
    }
    with Session(engine) as session:
        recorded = dict(session.exec(select(OutboundMessage.body, OutboundMessage.sender_id)).all())
    assert recorded == {
        "North one": north_main.id,
        "North two": north_flu.id,
        "South one": south_main.id,
        "Plain one": None,
    }


def test_each_sender_has_its_own_bucket_and_rate_and_no_number_in_it(
    database_url: str, tmp_path: Path
) -> None:
    settings = Settings(_env_file=None, database_url=database_url, data_dir=tmp_path)
    engine = engine_for(database_url)
    clinic = create_clinic(engine)
    slow = create_sender(engine, settings, clinic, phone_number="+12025550111", rate_per_s=1)
    fast = create_sender(
        engine, settings, clinic, phone_number="55512", sender_type="short_code", rate_per_s=80
    )
    book = routing.SenderBook(settings=settings, engine=engine)
    routes = [book.route(slow.id), book.route(fast.id), book.route(None)]
    assert [r.rate for r in routes[:2]] == [1.0, 80.0]
    assert len({r.key for r in routes}) == 3
    # Neither number appears (the keys hold sender ids, whose hex may contain "555" by chance).
    assert not any(number in r.key for r in routes for number in ("2025550111", "55512"))
    assert [rate_batch_size(r.rate) for r in routes[:2]] == [1, 50]
