"""Every coordinator route is the caller's clinic only: another clinic's thread is not found."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from outreach.clinics.models import Role
from outreach.config import Settings
from tests.factories import auth, create_clinic, create_key, create_patient
from tests.inbox.support import CLINIC_PHONE, coordinator, text_in, threads

ROUTES = [
    ("GET", "", None),
    ("POST", "/claim", None),
    ("POST", "/release", None),
    ("POST", "/replies", {"body": "hello"}),
    ("POST", "/notes", {"body": "a note"}),
    ("POST", "/resolve", {"outcome": "answered"}),
]


@pytest.mark.parametrize(("method", "suffix", "payload"), ROUTES)
def test_another_clinics_thread_is_404_and_an_admin_key_is_403(
    client: TestClient,
    settings: Settings,
    engine: Engine,
    method: str,
    suffix: str,
    payload: dict[str, str] | None,
) -> None:
    ours = create_clinic(engine, phone=CLINIC_PHONE)
    theirs = create_clinic(engine, name="Other Clinic", phone="+12025550111")
    text_in(client, settings, "private question", sender=create_patient(engine, ours).phone)
    [thread] = threads(engine)
    outsider = coordinator(engine, theirs)
    for thread_id in (thread.id, uuid.uuid4()):
        response = client.request(
            method, f"/coordinator/threads/{thread_id}{suffix}", json=payload, headers=outsider
        )
        assert response.status_code == 404, response.text
        assert response.json()["detail"] == "thread not found"
    admin = auth(create_key(engine, ours, Role.ADMIN))
    url = f"/coordinator/threads/{thread.id}{suffix}"
    assert client.request(method, url, json=payload, headers=admin).status_code == 403
    assert client.request(method, url, json=payload).status_code == 401


def test_the_list_shows_only_the_callers_clinic(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    ours = create_clinic(engine, phone=CLINIC_PHONE)
    theirs = create_clinic(engine, name="Other Clinic", phone="+12025550111")
    text_in(client, settings, "ours", sender=create_patient(engine, ours).phone)
    text_in(client, settings, "theirs", sender=create_patient(engine, theirs).phone, to="+12025550111")
    ours_view = client.get("/coordinator/threads", headers=coordinator(engine, ours)).json()["items"]
    theirs_view = client.get("/coordinator/threads", headers=coordinator(engine, theirs)).json()["items"]
    assert len(ours_view) == len(theirs_view) == 1
    assert ours_view[0]["id"] != theirs_view[0]["id"]
    bad = client.get(
        "/coordinator/threads", params={"cursor": "not-a-cursor"}, headers=coordinator(engine, ours)
    )
    assert bad.status_code == 422
