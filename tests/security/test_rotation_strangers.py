"""A number no patient has keeps one thread while the index keys rotate, before and after the rotation."""

from __future__ import annotations

import secrets

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach.config import Settings
from outreach.inbox.models import InboundMessage, Thread
from outreach.main import create_app
from outreach.security import crypto, rotation
from tests.factories import create_clinic
from tests.inbox.support import CLINIC_PHONE, text_in

KEY_A, KEY_B = Fernet.generate_key().decode(), Fernet.generate_key().decode()
INDEX_A, INDEX_B = secrets.token_urlsafe(40), secrets.token_urlsafe(40)
STRANGER = "+12025550177"  # a number no patient has


@pytest.fixture(autouse=True)
def _own_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sets the keys it needs; the process keyring is put back afterwards."""
    monkeypatch.setattr(crypto, "_active", None)


def _keys(settings: Settings, keys: str, index: str) -> Settings:
    return settings.model_copy(update={"phi_keys": SecretStr(keys), "phi_index_keys": SecretStr(index)})


def _strangers(engine: Engine) -> list[tuple[Thread, list[str]]]:
    """The threads of numbers no patient has, each with its texts' bodies in order."""
    with Session(engine) as session:
        found = session.exec(select(Thread).where(col(Thread.patient_id).is_(None))).all()
        return [
            (
                thread,
                list(
                    session.exec(
                        select(InboundMessage.body)
                        .where(InboundMessage.thread_id == thread.id)
                        .order_by(col(InboundMessage.received_at))
                    )
                ),
            )
            for thread in found
        ]


def test_a_stranger_texting_mid_rotation_lands_on_their_thread_and_keeps_it_after(
    settings: Settings, engine: Engine
) -> None:
    old = _keys(settings, KEY_A, INDEX_A)
    both = _keys(settings, f"{KEY_B},{KEY_A}", f"{INDEX_B},{INDEX_A}")
    new = _keys(settings, KEY_B, INDEX_B)
    create_clinic(engine, phone=CLINIC_PHONE)
    with TestClient(create_app(old)) as client:
        text_in(client, old, "where do I park?", sender=STRANGER)
    [(before, _)] = _strangers(engine)
    with TestClient(create_app(both)) as client:  # restarted with the new keys first, not yet rotated
        text_in(client, both, "is the lot behind the clinic?", sender=STRANGER)
        text_in(client, both, "HELP", sender=STRANGER)  # answered at once, still filed on the thread
        [(during, bodies)] = _strangers(engine)
        assert during.id == before.id
        assert bodies == ["where do I park?", "is the lot behind the clinic?", "HELP"]
        assert during.party == f"n:{crypto.active().index(STRANGER)}"  # under the newest index key now
        assert rotation.rotate(engine=engine, keyring=crypto.active())["inbox_thread"] == 1
    with TestClient(create_app(new)) as client:  # the old keys dropped
        text_in(client, new, "thanks, found it", sender=STRANGER)
    [(after, bodies)] = _strangers(engine)
    assert after.id == before.id
    assert bodies[-1] == "thanks, found it"
    assert after.from_phone == STRANGER
