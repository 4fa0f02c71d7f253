"""The periodic FHIR job (Celery beat, every 15 minutes): sync each connected clinic, then write back."""

from __future__ import annotations

import logging

import httpx
from sqlmodel import select

from outreach.config import get_settings
from outreach.db import engine_for, session_scope
from outreach.fhir import writeback
from outreach.fhir.models import FhirConnection
from outreach.fhir.secrets import fhir_settings
from outreach.fhir.sync import run_sync

log = logging.getLogger(__name__)


def sync_and_write_back() -> int:
    """Sync every connected clinic (one another run holds is passed over); return how many ran."""
    settings = get_settings()
    engine = engine_for(settings.database_url)
    with session_scope(engine) as session:
        clinic_ids = list(session.exec(select(FhirConnection.clinic_id)))
    ran = 0
    with httpx.Client(timeout=fhir_settings().request_timeout_s) as http:
        for clinic_id in clinic_ids:
            run = run_sync(engine=engine, clinic_id=clinic_id, http=http, redis_url=settings.redis_url)
            if run is None:
                continue
            ran += 1
            outcomes = writeback.run(engine=engine, clinic_id=clinic_id, http=http)
            log.info("FHIR clinic %s: sync %s, write-back %s", clinic_id, run.status, outcomes)
    return ran
