"""Signing in, CSRF and session expiry over plain HTTP (no browser)."""

from __future__ import annotations

from dataclasses import replace

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from outreach.auth import revoke_key
from outreach.clinics.models import ApiKey, Clinic, Role
from outreach.config import Settings
from outreach.db import session_scope
from outreach.web.deps import now_s
from outreach.web.sessions import COOKIE, MAX_AGE_S, decode, encode, session_secret, signed_in
from tests.factories import create_clinic, create_key, create_patient
from tests.web.conftest import csrf_of, sign_in, web_app


def test_admin_signs_in_and_lands_on_patients(web_client: TestClient, engine: Engine) -> None:
    clinic = create_clinic(engine)
    create_patient(engine, clinic, given_name="Maria", language="es-MX")
    answer = sign_in(web_client, create_key(engine, clinic, Role.ADMIN))
    assert answer.status_code == 303
    page = web_client.get("/app/")
    assert page.url.path == "/app/admin/patients"
    assert "Maria" in page.text
    assert "Spanish (Mexico)" in page.text


def test_malformed_key_is_explained_beside_the_field(web_client: TestClient) -> None:
    answer = sign_in(web_client, "12345")
    assert answer.status_code == 422
    assert 'id="api_key-error"' in answer.text
    assert "keys start with ok_" in answer.text
    assert COOKIE not in answer.cookies


def test_empty_key_asks_for_one(web_client: TestClient) -> None:
    answer = sign_in(web_client, "   ")
    assert answer.status_code == 422
    assert "Enter your API key." in answer.text


def test_unknown_or_revoked_key_is_refused(web_client: TestClient, engine: Engine) -> None:
    clinic = create_clinic(engine)
    key = create_key(engine, clinic)
    assert sign_in(web_client, key[:-3] + "zzz").status_code == 401
    with session_scope(engine) as session:
        row = session.exec(select(ApiKey).where(ApiKey.clinic_id == clinic.id)).one()
        revoke_key(session=session, clinic_id=clinic.id, key_id=row.id)
    refused = sign_in(web_client, key)
    assert refused.status_code == 401
    assert "unknown or has been revoked" in refused.text


def test_post_without_the_pages_csrf_token_is_rejected(web_client: TestClient, engine: Engine) -> None:
    key = create_key(engine, create_clinic(engine))
    web_client.get("/app/sign-in")
    forged = web_client.post("/app/sign-in", data={"api_key": key, "csrf_token": "guess"})
    assert forged.status_code == 403
    assert "This form has expired" in forged.text
    missing = web_client.post("/app/sign-in", data={"api_key": key})
    assert missing.status_code == 403
    assert web_client.get("/app/admin/patients", follow_redirects=False).status_code == 303


def test_csrf_token_of_another_session_does_not_work(settings: Settings, engine: Engine) -> None:
    key = create_key(engine, create_clinic(engine))
    app = web_app(settings)
    with TestClient(app) as attacker, TestClient(app) as victim:
        stolen = csrf_of(attacker.get("/app/sign-in"))
        victim.get("/app/sign-in")
        assert victim.post("/app/sign-in", data={"api_key": key, "csrf_token": stolen}).status_code == 403


def test_sign_out_needs_csrf_and_ends_the_session(web_client: TestClient, engine: Engine) -> None:
    sign_in(web_client, create_key(engine, create_clinic(engine)))
    page = web_client.get("/app/admin/patients")
    assert web_client.post("/app/sign-out", data={}).status_code == 403
    assert web_client.get("/app/admin/patients", follow_redirects=False).status_code == 200
    web_client.post("/app/sign-out", data={"csrf_token": csrf_of(page)})
    assert web_client.get("/app/admin/patients", follow_redirects=False).status_code == 303


def _expired_cookie(settings: Settings, engine: Engine, clinic: Clinic, role: Role) -> str:
    """A correctly signed session cookie issued just over MAX_AGE_S ago."""
    create_key(engine, clinic, role)
    with session_scope(engine) as session:
        key = session.exec(select(ApiKey).where(ApiKey.clinic_id == clinic.id)).first()
        assert key is not None
    old = signed_in(key_id=key.id, clinic_id=clinic.id, role=role, now=now_s() - MAX_AGE_S - 60)
    return encode(old, secret=session_secret(settings))


def test_expired_session_goes_to_sign_in_and_back(
    web_client: TestClient, settings: Settings, engine: Engine
) -> None:
    clinic = create_clinic(engine)
    web_client.cookies.set(COOKIE, _expired_cookie(settings, engine, clinic, Role.ADMIN))
    answer = web_client.get("/app/admin/patients?consent=granted", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/app/sign-in?next=/app/admin/patients%3Fconsent%3Dgranted"
    page = web_client.get(answer.headers["location"])
    assert "Your session has ended" in page.text
    back = sign_in(web_client, create_key(engine, clinic), next_url="/app/admin/patients?consent=granted")
    assert back.headers["location"] == "/app/admin/patients?consent=granted"


def test_poll_with_expired_session_tells_the_page_where_to_sign_in(
    web_client: TestClient, settings: Settings, engine: Engine
) -> None:
    web_client.cookies.set(COOKIE, _expired_cookie(settings, engine, create_clinic(engine), Role.ADMIN))
    answer = web_client.get("/app/simulator/texts", headers={"X-Requested-With": "fetch"})
    assert answer.status_code == 401
    assert answer.json() == {"sign_in": "/app/sign-in?next=/app/simulator/texts"}


def test_tampered_cookie_is_not_a_session(web_client: TestClient, settings: Settings, engine: Engine) -> None:
    sign_in(web_client, create_key(engine, create_clinic(engine)))
    genuine = web_client.cookies[COOKIE]
    assert web_client.get("/app/admin/patients", follow_redirects=False).status_code == 200
    current = decode(genuine, secret=session_secret(settings), now=now_s())
    assert current is not None
    # The same key with another CSRF token: only the signature can tell it was not issued by the server.
    edited = encode(replace(current, csrf="chosen-by-attacker"), secret=b"a guess").partition(".")[0]
    web_client.cookies.set(COOKIE, f"{edited}.{genuine.partition('.')[2]}")
    assert web_client.get("/app/admin/patients", follow_redirects=False).status_code == 303


def test_next_never_leaves_the_app(web_client: TestClient, engine: Engine) -> None:
    key = create_key(engine, create_clinic(engine))
    assert sign_in(web_client, key, next_url="https://evil.example/x").headers["location"] == "/app/"
    assert sign_in(web_client, key, next_url="//evil.example/app/").headers["location"] == "/app/"


def test_coordinator_on_an_admin_page_gets_a_clear_message(web_client: TestClient, engine: Engine) -> None:
    sign_in(web_client, create_key(engine, create_clinic(engine), Role.COORDINATOR))
    page = web_client.get("/app/admin/patients")
    assert page.status_code == 403
    assert "This page is for admin keys; you signed in with a coordinator key" in page.text


def test_pages_load_nothing_from_other_sites(web_client: TestClient) -> None:
    page = web_client.get("/app/sign-in")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert "http://" not in page.text
    assert "https://" not in page.text
    assert web_client.get("/app/static/app.css").status_code == 200
