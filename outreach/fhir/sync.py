"""Sync from a clinic's FHIR server: appointments in the window ahead with their patients, and the
patients' events the clinic's journey rules start from.

A pipeline like the file import (it owns its transactions): the run is recorded first, then every
page of `Appointment?date=ge…&date=le…&_include=Appointment:patient` (after the first run, only what
changed since the last one: `_lastUpdated=ge…`) goes through the same importer in one transaction, so a
sync that fails part-way stores nothing and records why. A clinic with an active discharge rule also
gets the Encounters finished (or withdrawn) since the last run, and one with an active visit-fulfilled
rule the Appointments fulfilled since then (`event_searches`). Runs take a lock per clinic so two never
overlap.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import httpx
import redis
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach.clinics.models import Clinic
from outreach.db import session_scope, utcnow
from outreach.errors import Invalid
from outreach.fhir import connections, secrets
from outreach.fhir.auth import Auth, AuthError, BearerAuth, SmartBackendAuth
from outreach.fhir.client import FhirClient, FhirError
from outreach.fhir.importing import Importer
from outreach.fhir.models import AuthKind, FhirConnection, FhirSyncRun
from outreach.fhir.parsing import bundle_entries
from outreach.journeys.models import EventKind
from outreach.journeys.service import list_rules

log = logging.getLogger(__name__)
_OVERLAP = timedelta(minutes=5)  # increments reach back a little: servers stamp lastUpdated at commit
_auth_cache: dict[tuple[uuid.UUID, datetime], Auth] = {}  # keeps SMART tokens across runs in a process


def auth_for(connection: FhirConnection) -> Auth:
    """The sign-in for a connection (one per connection version, so its token is reused until expiry)."""
    key = (connection.id, connection.updated_at)
    if key not in _auth_cache:
        secret = secrets.decrypt(connection.secret)
        if connection.auth_kind == AuthKind.BEARER:
            _auth_cache[key] = BearerAuth(secret)
        else:
            _auth_cache[key] = SmartBackendAuth(
                client_id=connection.client_id,
                token_url=connection.token_url,
                private_key_pem=secret,
                algorithm=connection.algorithm,
                key_id=connection.key_id,
                scope=connection.scope,
            )
    return _auth_cache[key]


def client_for(
    connection: FhirConnection, http: httpx.Client, sleep: Callable[[float], None] | None = None
) -> FhirClient:
    """A FHIR client for the connection."""
    settings = secrets.fhir_settings()
    extra = {"sleep": sleep} if sleep is not None else {}
    return FhirClient(
        base_url=connection.base_url,
        auth=auth_for(connection),
        http=http,
        max_retries=settings.max_retries,
        **extra,
    )


def search_params(connection: FhirConnection, now: datetime) -> list[tuple[str, str]]:
    """The appointment search: the window ahead with patients included, and only changes after a first run."""
    ahead = now + timedelta(days=connection.window_days)
    params = [
        ("date", f"ge{now.strftime('%Y-%m-%dT%H:%M:%SZ')}"),
        ("date", f"le{ahead.strftime('%Y-%m-%dT%H:%M:%SZ')}"),
        ("_include", "Appointment:patient"),
        ("_count", "200"),
    ]
    if connection.last_synced_at is not None:
        since = connection.last_synced_at - _OVERLAP
        params.append(("_lastUpdated", f"ge{since.strftime('%Y-%m-%dT%H:%M:%SZ')}"))
    return params


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def event_searches(
    session: Session, connection: FhirConnection, now: datetime
) -> list[tuple[str, list[tuple[str, str]]]]:
    """(resource type, query) of the searches for events the clinic's active journey rules start from.

    What changed since the last run (the first run: over the last `window_days`), with the patients."""
    kinds = {rule.event_kind for rule in list_rules(session=session, clinic_id=connection.clinic_id)}
    since = (connection.last_synced_at or now - timedelta(days=connection.window_days)) - _OVERLAP
    changed = ("_lastUpdated", f"ge{_stamp(since)}")
    searches: list[tuple[str, list[tuple[str, str]]]] = []
    if EventKind.DISCHARGED in kinds:
        status = ("status", "finished,cancelled,entered-in-error")  # a withdrawn discharge is seen too
        searches.append(
            ("Encounter", [status, changed, ("_include", "Encounter:patient"), ("_count", "200")])
        )
    if EventKind.VISIT_FULFILLED in kinds:
        status = ("status", "fulfilled")
        include = ("_include", "Appointment:patient")
        searches.append(("Appointment", [status, changed, include, ("_count", "200")]))
    return searches


def _running(session: Session, clinic_id: uuid.UUID, now: datetime) -> bool:
    fresh = now - timedelta(seconds=secrets.fhir_settings().sync_lock_s)
    query = select(FhirSyncRun.id).where(
        col(FhirSyncRun.clinic_id) == clinic_id,
        col(FhirSyncRun.status) == "running",
        col(FhirSyncRun.started_at) > fresh,
    )
    return session.exec(query).first() is not None


@contextmanager
def clinic_lock(redis_url: str, clinic_id: uuid.UUID) -> Iterator[bool]:
    """A Redis lock per clinic when Redis is configured (the embedded default runs one beat process)."""
    if not redis_url:
        yield True
        return
    lock = redis.Redis.from_url(redis_url).lock(
        f"outreach:lock:fhir-sync:{clinic_id}", timeout=secrets.fhir_settings().sync_lock_s
    )
    acquired = bool(lock.acquire(blocking=False))
    try:
        yield acquired
    finally:
        if acquired:
            lock.release()


def run_sync(
    *,
    engine: Engine,
    clinic_id: uuid.UUID,
    http: httpx.Client | None = None,
    redis_url: str = "",
    sleep: Callable[[float], None] | None = None,
) -> FhirSyncRun | None:
    """Sync one clinic; return the recorded run (None when another run holds the clinic)."""
    with clinic_lock(redis_url, clinic_id) as acquired:
        if not acquired:
            return None
        started = utcnow()
        with session_scope(engine) as session:
            connection = connections.get(session=session, clinic_id=clinic_id)
            if _running(session, clinic_id, started):
                return None
            run = FhirSyncRun(clinic_id=clinic_id, started_at=started)
            session.add(run)
        own_http = http is None
        http = http or httpx.Client(timeout=secrets.fhir_settings().request_timeout_s)
        unexpected: BaseException | None = None
        try:
            counts, error = _pull(
                engine=engine, connection=connection, http=http, started=started, sleep=sleep
            )
        except Exception as exc:  # recorded, so the run does not look as if it were still going
            counts, error, unexpected = {}, f"unexpected {type(exc).__name__}", exc
        finally:
            if own_http:
                http.close()
        with session_scope(engine) as session:
            run = session.get_one(FhirSyncRun, run.id)
            run.finished_at, run.counts, run.error = utcnow(), counts, error
            run.status = "failed" if error else "succeeded"
            if not error:
                saved = session.get_one(FhirConnection, connection.id)
                saved.last_synced_at = started
                session.add(saved)
            session.add(run)
        if unexpected is not None:
            raise unexpected
        return run


def _pull(
    *,
    engine: Engine,
    connection: FhirConnection,
    http: httpx.Client,
    started: datetime,
    sleep: Callable[[float], None] | None,
) -> tuple[dict[str, object], str | None]:
    """Import every page in one transaction; (counts, None) or ({}, what went wrong)."""
    client = client_for(connection, http, sleep)
    pages = 0
    try:
        with session_scope(engine) as session:
            clinic = session.get_one(Clinic, connection.clinic_id)
            importer = Importer(
                session=session,
                clinic=clinic,
                source=connection.base_url,
                mrn_system=connection.mrn_system,
                now=started,
            )
            searches = [("Appointment", search_params(connection, started))]
            for kind, params in [*searches, *event_searches(session, connection, started)]:
                for page in client.search(kind, params):
                    pages += 1
                    for resource in bundle_entries(page):
                        importer.feed(resource)
            summary = importer.finish()
    except Invalid as exc:
        log.warning("FHIR sync of clinic %s failed: page %s %s", connection.clinic_id, pages, exc.reason)
        return {}, f"page {pages}: {exc.reason}"
    except (FhirError, AuthError) as exc:
        log.warning("FHIR sync of clinic %s failed: %s", connection.clinic_id, exc)
        return {}, str(exc)
    counts: dict[str, object] = {kind: c.model_dump() for kind, c in summary.counts.items()}
    counts["pages"] = pages
    counts["events"] = summary.events.model_dump()
    counts["rejected"] = [n.model_dump() for n in summary.rejected]
    counts["skipped"] = [n.model_dump() for n in summary.skipped]
    return counts, None
