"""Clinic admin routes for FHIR: upload an import, connect the EHR, run a sync, see runs and write-backs."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Form, Query, UploadFile
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach.api.deps import EngineDep, PrincipalDep, SessionDep, SettingsDep, require_role
from outreach.api.strict_query import refuse_unknown_query
from outreach.clinics.models import Role
from outreach.clinics.service import get_clinic
from outreach.db import utcnow
from outreach.errors import Conflict, Invalid
from outreach.fhir import connections, writeback
from outreach.fhir.importing import Importer, read_stream
from outreach.fhir.models import FhirSyncRun, FhirWriteback
from outreach.fhir.schemas import ImportSummary
from outreach.fhir.sync import run_sync
from outreach.patients.models import Appointment
from outreach.tenancy import owned

router = APIRouter(
    prefix="/admin/fhir", tags=["fhir"], dependencies=[require_role(Role.ADMIN), refuse_unknown_query]
)
Limit = Annotated[int, Query(ge=1, le=200)]


class SyncRunPublic(BaseModel):
    """One sync run as the admin page shows it."""

    id: Any
    started_at: datetime
    finished_at: datetime | None
    status: str
    counts: dict[str, Any]
    error: str | None


class WritebackPublic(BaseModel):
    """One write-back to the EHR and its outcome."""

    id: Any
    appointment_id: Any
    kind: str
    status: str
    attempts: int
    last_error: str | None
    result_ref: str | None
    created_at: datetime
    updated_at: datetime


def sync_clinic(*, engine: Engine, clinic_id: uuid.UUID, redis_url: str) -> FhirSyncRun:
    """Sync the clinic now, then attempt its write-backs (the API and the admin page both do this)."""
    run = run_sync(engine=engine, clinic_id=clinic_id, redis_url=redis_url)
    if run is None:
        raise Conflict("a sync of this clinic is already running")
    retry_writebacks(engine=engine, clinic_id=clinic_id)
    return run


def retry_writebacks(*, engine: Engine, clinic_id: uuid.UUID) -> dict[str, int]:
    """Attempt the clinic's pending and failed write-backs now; counts by outcome."""
    with httpx.Client(timeout=30) as http:
        return writeback.run(engine=engine, clinic_id=clinic_id, http=http)


def recent_runs(*, session: Session, clinic_id: uuid.UUID, limit: int) -> list[FhirSyncRun]:
    """The clinic's sync runs, newest first."""
    query = owned(select(FhirSyncRun), FhirSyncRun, clinic_id=clinic_id)
    return list(session.exec(query.order_by(col(FhirSyncRun.started_at).desc()).limit(limit)))


def recent_writebacks(
    *, session: Session, clinic_id: uuid.UUID, limit: int, statuses: Collection[str] = ()
) -> list[tuple[FhirWriteback, Appointment]]:
    """The clinic's write-backs with their visits (only those in `statuses` when given), latest first."""
    query = (
        select(FhirWriteback, Appointment)
        .join(Appointment, col(Appointment.id) == col(FhirWriteback.appointment_id))
        .where(col(FhirWriteback.clinic_id) == clinic_id)
    )
    if statuses:
        query = query.where(col(FhirWriteback.status).in_(list(statuses)))
    return list(session.exec(query.order_by(col(FhirWriteback.updated_at).desc()).limit(limit)).all())


@router.post("/import", summary="Import FHIR R4 Bundles or Bulk NDJSON files (idempotent upsert)")
def import_upload(
    files: list[UploadFile], session: SessionDep, principal: PrincipalDep, source: Annotated[str, Form()] = ""
) -> ImportSummary:
    clinic = get_clinic(session=session, clinic_id=principal.clinic_id)
    connection = connections.find(session=session, clinic_id=clinic.id)
    importer = Importer(
        session=session, clinic=clinic, now=utcnow(),
        source=source or (connection.base_url if connection else "file"),
        mrn_system=connection.mrn_system if connection else "",
    )  # fmt: skip
    # Patient files first, as on the command line: their appointments refer to them.
    ordered = sorted(files, key=lambda f: 0 if (f.filename or "").lower().startswith("patient") else 1)
    for upload in ordered:
        try:  # the upload is already spooled to disk past 1 MB: read it as a stream
            for resource in read_stream(Path(upload.filename or "upload").name, upload.file):
                importer.feed(resource)
        except Invalid as exc:
            raise Invalid(f"files.{upload.filename}", exc.reason) from None
    return importer.finish()


@router.put("/connection", summary="Connect the clinic to its FHIR server (credentials are never returned)")
def put_connection(
    data: connections.ConnectionIn, session: SessionDep, principal: PrincipalDep
) -> connections.ConnectionPublic:
    saved = connections.configure(session=session, clinic_id=principal.clinic_id, data=data, now=utcnow())
    return connections.public(saved)


@router.get("/connection", summary="The clinic's FHIR server (without credentials)")
def get_connection(session: SessionDep, principal: PrincipalDep) -> connections.ConnectionPublic:
    return connections.public(connections.get(session=session, clinic_id=principal.clinic_id))


@router.post("/sync", summary="Sync upcoming appointments and their patients from the FHIR server now")
def sync_now(
    engine: EngineDep, settings: SettingsDep, session: SessionDep, principal: PrincipalDep
) -> SyncRunPublic:
    connections.get(session=session, clinic_id=principal.clinic_id)
    run = sync_clinic(engine=engine, clinic_id=principal.clinic_id, redis_url=settings.redis_url)
    return SyncRunPublic.model_validate(run, from_attributes=True)


@router.get("/runs", summary="The clinic's sync runs, newest first")
def list_runs(session: SessionDep, principal: PrincipalDep, limit: Limit = 20) -> list[SyncRunPublic]:
    rows = recent_runs(session=session, clinic_id=principal.clinic_id, limit=limit)
    return [SyncRunPublic.model_validate(r, from_attributes=True) for r in rows]


@router.get("/writebacks", summary="Write-backs to the EHR and their outcomes (failed ones are retried)")
def list_writebacks(session: SessionDep, principal: PrincipalDep, limit: Limit = 50) -> list[WritebackPublic]:
    rows = recent_writebacks(session=session, clinic_id=principal.clinic_id, limit=limit)
    return [WritebackPublic.model_validate(w, from_attributes=True) for w, _visit in rows]
