"""Sync from a FHIR server the test starts: paging, _include, 429/5xx, SMART tokens, increments, tenancy."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from outreach.clinics.models import Clinic
from outreach.db import session_scope, utcnow
from outreach.fhir import connections
from outreach.fhir.connections import ConnectionIn
from outreach.fhir.models import FhirSyncRun
from outreach.fhir.sync import clinic_lock, run_sync
from outreach.patients.models import Appointment, Patient
from tests.factories import create_clinic
from tests.fhir.server import FakeFhir, Fault, fhir_server


def private_pem(algorithm: str) -> tuple[str, Any]:
    """(PEM private key, public key) for RS384 or ES384."""
    key: Any = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if algorithm == "RS384"
        else ec.generate_private_key(ec.SECP384R1())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem.decode(), key.public_key()


def patient(fhir_id: str, phone: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": fhir_id,
        "name": [{"use": "official", "given": ["Kim"], "family": "Le"}],
        "identifier": [{"type": {"coding": [{"code": "MR"}]}, "value": f"MRN-{fhir_id}"}],
        "telecom": [{"system": "sms", "value": phone}],
        "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "vi-VN"}]}}],
    }


def visit(fhir_id: str, patient_id: str, start: datetime, status: str = "booked") -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "id": fhir_id,
        "status": status,
        "start": start.isoformat(),
        "participant": [
            {"actor": {"reference": f"Patient/{patient_id}"}, "status": "needs-action"},
            {"actor": {"reference": "Location/1", "display": "Clinic B"}, "status": "accepted"},
        ],
    }


def schedule(fake: FakeFhir, *, visits: int, now: datetime) -> None:
    """`visits` appointments in the next days, each with its own patient, and one far outside the window."""
    for n in range(visits):
        fake.patients[f"p{n}"] = patient(f"p{n}", f"202-555-01{n:02d}")
        fake.put_appointment(visit(f"a{n}", f"p{n}", now + timedelta(days=1 + n)))
    fake.patients["far"] = patient("far", "202-555-0199")
    fake.put_appointment(visit("a-far", "far", now + timedelta(days=90)))


def connect(engine: Engine, clinic: Clinic, fake: FakeFhir, **fields: Any) -> None:
    data = {"base_url": fake.base_url, "auth_kind": "bearer", "bearer_token": "static-token", **fields}
    fake.bearer_tokens.add("static-token")
    with session_scope(engine) as session:
        connections.configure(session=session, clinic_id=clinic.id, data=ConnectionIn(**data), now=utcnow())


class Sleeps(list[float]):
    """Records the waits the client asked for instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def fake() -> Iterator[FakeFhir]:
    with fhir_server() as server:
        yield server


def sync(engine: Engine, clinic: Clinic, sleeps: Sleeps | None = None) -> FhirSyncRun:
    with httpx.Client(timeout=10) as http:
        run = run_sync(
            engine=engine, clinic_id=clinic.id, http=http, sleep=sleeps if sleeps is not None else Sleeps()
        )
    assert run is not None
    return run


def stored(engine: Engine, clinic: Clinic) -> tuple[list[str], list[str]]:
    with Session(engine) as session:
        people = sorted(
            p.external_id for p in session.exec(select(Patient).where(Patient.clinic_id == clinic.id))
        )
        visits = sorted(
            a.location for a in session.exec(select(Appointment).where(Appointment.clinic_id == clinic.id))
        )
    return people, visits


def test_sync_follows_next_links_and_stores_included_patients(engine: Engine, fake: FakeFhir) -> None:
    clinic = create_clinic(engine)
    now = utcnow()
    schedule(fake, visits=5, now=now)
    fake.page_size = 2
    connect(engine, clinic, fake)
    run = sync(engine, clinic)
    assert run.status == "succeeded", run.error
    assert run.counts["Appointment"]["created"] == 5
    assert run.counts["Patient"]["created"] == 5
    assert run.counts["pages"] == 3
    searches = fake.searches()
    assert len(searches) == 3
    assert searches[0]["_include"] == ["Appointment:patient"]
    assert [q.get("_offset") for q in searches] == [None, ["2"], ["4"]]
    people, visits = stored(engine, clinic)
    assert people == [f"MRN-p{n}" for n in range(5)]  # the visit 90 days out is outside the 14-day window
    assert visits == ["Clinic B"] * 5


def test_a_second_sync_asks_only_for_changes_since_the_first(engine: Engine, fake: FakeFhir) -> None:
    clinic = create_clinic(engine)
    schedule(fake, visits=2, now=utcnow())
    connect(engine, clinic, fake)
    first = sync(engine, clinic)
    second = sync(engine, clinic)
    assert "_lastUpdated" not in fake.searches()[0]
    since = (first.started_at - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert fake.searches()[1]["_lastUpdated"] == [f"ge{since}"]
    assert second.counts.get("Appointment", {}).get("created", 0) == 0


def test_429_waits_for_retry_after_and_5xx_backs_off(engine: Engine, fake: FakeFhir) -> None:
    clinic = create_clinic(engine)
    schedule(fake, visits=1, now=utcnow())
    connect(engine, clinic, fake)
    fake.faults += [Fault(429, {"Retry-After": "7"}), Fault(503), Fault(502)]
    sleeps = Sleeps()
    run = sync(engine, clinic, sleeps)
    assert run.status == "succeeded", run.error
    assert sleeps == [7.0, 1.0, 2.0]  # Retry-After as given; then 0.5 s doubling from the second attempt
    assert len(fake.searches()) == 4


def test_a_server_that_keeps_failing_is_recorded_as_a_failed_run(engine: Engine, fake: FakeFhir) -> None:
    clinic = create_clinic(engine)
    schedule(fake, visits=1, now=utcnow())
    connect(engine, clinic, fake)
    fake.faults += [Fault(500) for _ in range(5)]
    run = sync(engine, clinic)
    assert (run.status, run.error) == ("failed", "search Appointment answered 500")
    assert run.finished_at is not None
    assert stored(engine, clinic) == ([], [])
    with Session(engine) as session:
        assert session.get_one(FhirSyncRun, run.id).status == "failed"


@pytest.mark.parametrize("algorithm", ["RS384", "ES384"])
def test_smart_backend_services_token_is_signed_cached_and_renewed_when_refused(
    engine: Engine, fake: FakeFhir, algorithm: str
) -> None:
    clinic = create_clinic(engine)
    schedule(fake, visits=2, now=utcnow())
    pem, public_key = private_pem(algorithm)
    fake.public_key, fake.algorithm = public_key, algorithm
    connect(
        engine,
        clinic,
        fake,
        auth_kind="smart",
        bearer_token=None,
        client_id=fake.client_id,
        token_url=fake.token_url,
        private_key_pem=pem,
        algorithm=algorithm,
        key_id="k1",
    )
    assert sync(engine, clinic).status == "succeeded"
    assert sync(engine, clinic).status == "succeeded"
    assert len(fake.assertions) == 1  # the token was kept between runs
    claims = fake.assertions[0]
    assert (claims["iss"], claims["sub"], claims["aud"]) == (fake.client_id, fake.client_id, fake.token_url)
    assert claims["exp"] - claims["iat"] == 300
    fake.expire_tokens()
    assert sync(engine, clinic).status == "succeeded"
    assert len(fake.assertions) == 2  # a 401 brought a fresh token, once


def test_an_assertion_signed_with_another_key_is_refused_and_the_run_says_so(
    engine: Engine, fake: FakeFhir
) -> None:
    clinic = create_clinic(engine)
    pem, _ = private_pem("RS384")
    _, fake.public_key = private_pem("RS384")
    connect(
        engine,
        clinic,
        fake,
        auth_kind="smart",
        bearer_token=None,
        client_id=fake.client_id,
        token_url=fake.token_url,
        private_key_pem=pem,
    )
    run = sync(engine, clinic)
    assert run.status == "failed"
    assert run.error is not None
    assert run.error.startswith("token endpoint answered 401")


def test_a_clinics_sync_never_touches_another_clinics_patients(engine: Engine, fake: FakeFhir) -> None:
    north, south = (
        create_clinic(engine, name="North"),
        create_clinic(engine, name="South", phone="+12025550198"),
    )
    schedule(fake, visits=2, now=utcnow())
    connect(engine, north, fake)
    with fhir_server() as other:
        other.patients["p0"] = patient("p0", "202-555-0177")
        other.put_appointment(visit("a0", "p0", utcnow() + timedelta(days=2)))
        connect(engine, south, other)
        sync(engine, north)
        sync(engine, south)
    with Session(engine) as session:
        phones = {(p.clinic_id, p.external_id): p.phone for p in session.exec(select(Patient))}
    assert phones[(north.id, "MRN-p0")] == "+12025550100"
    assert phones[(south.id, "MRN-p0")] == "+12025550177"
    assert len([k for k in phones if k[0] == north.id]) == 2


def test_a_clinic_whose_sync_is_running_is_not_synced_twice(engine: Engine, fake: FakeFhir) -> None:
    clinic = create_clinic(engine)
    connect(engine, clinic, fake)
    with session_scope(engine) as session:
        session.add(FhirSyncRun(clinic_id=clinic.id, started_at=utcnow() - timedelta(minutes=1)))
    with httpx.Client() as http:
        assert run_sync(engine=engine, clinic_id=clinic.id, http=http) is None
    assert fake.searches() == []


@pytest.mark.redis
def test_the_redis_lock_keeps_a_second_worker_out(engine: Engine, fake: FakeFhir, redis_url: str) -> None:
    clinic = create_clinic(engine)
    connect(engine, clinic, fake)
    with clinic_lock(redis_url, clinic.id) as held, httpx.Client() as http:
        assert held
        assert run_sync(engine=engine, clinic_id=clinic.id, http=http, redis_url=redis_url) is None
    with httpx.Client() as http:
        assert run_sync(engine=engine, clinic_id=clinic.id, http=http, redis_url=redis_url) is not None


def test_credentials_are_stored_encrypted_and_never_returned(engine: Engine) -> None:
    clinic = create_clinic(engine)
    data = ConnectionIn(
        base_url="https://ehr.example/fhir", auth_kind="bearer", bearer_token="s3cr3t-token-value"
    )
    with session_scope(engine) as session:
        saved = connections.configure(session=session, clinic_id=clinic.id, data=data, now=utcnow())
        shown = connections.public(saved).model_dump_json()
    assert "s3cr3t" not in shown
    with engine.connect() as conn:
        raw = conn.execute(text("SELECT secret FROM fhir_connection")).scalar_one()
    assert "s3cr3t" not in raw


def test_start_of_window_is_now_and_end_is_window_days_ahead(engine: Engine, fake: FakeFhir) -> None:
    clinic = create_clinic(engine)
    connect(engine, clinic, fake, window_days=7)
    run = sync(engine, clinic)
    low, high = fake.searches()[0]["date"]
    assert low == "ge" + run.started_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert high == "le" + (run.started_at + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert run.started_at.tzinfo == UTC


def test_a_token_about_to_expire_is_renewed_before_use_without_a_401(engine: Engine, fake: FakeFhir) -> None:
    clinic = create_clinic(engine)
    pem, fake.public_key = private_pem("RS384")
    fake.token_lifetime_s = 20  # inside the 30 s margin: never worth using for a whole run
    connect(engine, clinic, fake, auth_kind="smart", bearer_token=None, client_id=fake.client_id,
            token_url=fake.token_url, private_key_pem=pem)  # fmt: skip
    sync(engine, clinic)
    sync(engine, clinic)
    assert len(fake.assertions) == 2
    assert len(fake.searches()) == 2  # each search went through on its first try


def test_a_page_that_is_not_a_bundle_fails_the_run_and_stores_nothing(engine: Engine, fake: FakeFhir) -> None:
    clinic = create_clinic(engine)
    schedule(fake, visits=3, now=utcnow())
    fake.page_size = 2
    connect(engine, clinic, fake)
    fake.faults.append(Fault(200, after=1))  # the second page is an OperationOutcome, not a Bundle
    run = sync(engine, clinic)
    assert run.status == "failed"
    assert run.error is not None
    assert run.error.startswith("page 2: is not a valid FHIR Bundle")
    assert stored(engine, clinic) == ([], [])  # the first page's two visits were not kept either
    with Session(engine) as session:
        assert session.exec(select(FhirSyncRun.status)).one() == "failed"
