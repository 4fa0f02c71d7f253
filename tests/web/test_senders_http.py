"""The Senders admin page over plain HTTP: list, add (tokens never echoed), refuse bad input, remove."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from outreach.clinics.models import Role
from outreach.senders.models import Sender
from tests.factories import create_clinic, create_key
from tests.senders.support import SUB_ACCOUNT, SUB_TOKEN
from tests.web.conftest import csrf_of, sign_in

PAGE = "/app/admin/senders"


def _signed_in(client: TestClient, engine: Engine, role: Role = Role.ADMIN) -> None:
    sign_in(client, create_key(engine, create_clinic(engine), role))


def test_an_admin_adds_a_sender_with_its_own_subaccount_and_never_sees_the_token_again(
    web_client: TestClient, engine: Engine
) -> None:
    _signed_in(web_client, engine)
    empty = web_client.get(PAGE)
    assert empty.status_code == 200
    assert "No senders yet" in empty.text
    form = {
        "csrf_token": csrf_of(empty),
        "label": "Front desk",
        "phone_number": "+18005550133",
        "sender_type": "toll_free",
        "rate_per_s": "3",
        "account_sid": SUB_ACCOUNT,
        "auth_token": SUB_TOKEN,
    }
    added = web_client.post(PAGE, data=form, follow_redirects=True)
    assert added.status_code == 200
    assert "Sender added." in added.text
    assert "+18005550133" in added.text
    assert "own subaccount" in added.text
    assert SUB_TOKEN not in added.text
    with Session(engine) as session:
        [stored] = session.exec(select(Sender)).all()
    assert (stored.phone_number, stored.rate_per_s, stored.is_default) == ("+18005550133", 3.0, True)


def test_bad_input_is_explained_on_the_page_and_keeps_what_was_typed_but_the_token(
    web_client: TestClient, engine: Engine
) -> None:
    _signed_in(web_client, engine)
    form = {
        "csrf_token": csrf_of(web_client.get(PAGE)),
        "phone_number": "+12025550111",
        "sender_type": "long_code",
        "rate_per_s": "90",
        "account_sid": SUB_ACCOUNT,
        "auth_token": SUB_TOKEN,
    }
    refused = web_client.post(PAGE, data=form)
    assert refused.status_code == 422
    assert "rate_per_s: must be between 0.1 and 75 segments per second for a long_code sender" in refused.text
    assert 'value="+12025550111"' in refused.text
    assert SUB_TOKEN not in refused.text
    with Session(engine) as session:
        assert session.exec(select(Sender)).all() == []


def test_removing_a_sender_and_the_page_is_for_admins_only(web_client: TestClient, engine: Engine) -> None:
    _signed_in(web_client, engine)
    page = web_client.get(PAGE)
    web_client.post(PAGE, data={"csrf_token": csrf_of(page), "phone_number": "+12025550111"})
    with Session(engine) as session:
        [sender] = session.exec(select(Sender)).all()
    removed = web_client.post(
        f"{PAGE}/{sender.id}/delete",
        data={"csrf_token": csrf_of(web_client.get(PAGE))},
        follow_redirects=True,
    )
    assert "Sender removed." in removed.text
    with Session(engine) as session:
        assert session.exec(select(Sender)).all() == []
    without_csrf = web_client.post(PAGE, data={"phone_number": "+12025550122"})
    assert without_csrf.status_code == 403


def test_a_coordinator_cannot_open_the_senders_page(web_client: TestClient, engine: Engine) -> None:
    _signed_in(web_client, engine, Role.COORDINATOR)
    assert web_client.get(PAGE).status_code == 403
