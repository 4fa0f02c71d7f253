"""Clinic admin page for the EHR (FHIR): the connection (never its secret), sync runs and write-backs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from outreach.api.deps import EngineDep, SessionDep, SettingsDep
from outreach.api.fhir import recent_runs, recent_writebacks, retry_writebacks, sync_clinic
from outreach.clinics.models import Role
from outreach.errors import DomainError
from outreach.fhir import connections
from outreach.fhir.models import FhirConnection, FhirSyncRun, FhirWriteback
from outreach.fhir.writeback import MAX_ATTEMPTS
from outreach.patients.models import Appointment
from outreach.web.deps import PREFIX, FormDep, PageError, Viewer, ViewerDep, flash, render, role_required
from outreach.web.wording import plural

router = APIRouter(prefix=f"{PREFIX}/admin/fhir", include_in_schema=False)
PAGE = f"{PREFIX}/admin/fhir"
RUNS_SHOWN = 20
DONE_SHOWN = 50
OPEN_SHOWN = 200  # every write-back still open is listed (up to this many), however old
OPEN = ("pending", "failed", "given_up")
_OUTCOMES = ("created", "updated", "unchanged", "skipped", "rejected")
KINDS = {
    "confirm": "Confirmed by text (patient accepted)",
    "cancel_task": "Cancel request (Task for the front desk)",
}


@dataclass(frozen=True, slots=True)
class RunView:
    """One sync run as the page lists it."""

    run: FhirSyncRun
    lines: list[str]  # "Patient: 3 created, 1 updated"
    notes: list[str]  # each rejected or skipped resource, with why


@dataclass(frozen=True, slots=True)
class WritebackView:
    """One write-back and the visit it is about."""

    row: FhirWriteback
    visit: Appointment
    kind: str


def run_view(run: FhirSyncRun) -> RunView:
    """A run's counts in words (only the outcomes that happened) and the resources it left out."""
    lines = []
    for kind, counts in sorted(run.counts.items()):
        if not isinstance(counts, dict):
            continue
        said = [f"{counts[o]} {o}" for o in _OUTCOMES if counts.get(o)]
        lines.append(f"{kind}: {', '.join(said) or 'nothing'}")
    if run.status == "succeeded" and not lines:
        lines.append("Nothing new")
    if "pages" in run.counts:
        lines.append(plural(int(run.counts["pages"]), "page"))
    notes = [
        f"{verb} {note.get('resource_type', '')}/{note.get('id', '')}: {note.get('reason', '')}"
        for verb, key in (("Rejected", "rejected"), ("Skipped", "skipped"))
        for note in run.counts.get(key) or []
        if isinstance(note, dict)
    ]
    return RunView(run=run, lines=lines, notes=notes)


def _writebacks(rows: list[tuple[FhirWriteback, Appointment]]) -> list[WritebackView]:
    return [WritebackView(row=w, visit=v, kind=KINDS.get(w.kind, w.kind)) for w, v in rows]


def _context(viewer: Viewer, db: SessionDep) -> dict[str, Any]:
    clinic_id = viewer.clinic.id
    found = connections.find(session=db, clinic_id=clinic_id)
    still_open = recent_writebacks(session=db, clinic_id=clinic_id, limit=OPEN_SHOWN + 1, statuses=OPEN)
    return {
        "viewer": viewer,
        "connection": connections.public(found) if found else None,
        "runs": [run_view(r) for r in recent_runs(session=db, clinic_id=clinic_id, limit=RUNS_SHOWN)],
        "open": _writebacks(still_open[:OPEN_SHOWN]),
        "more_open": len(still_open) > OPEN_SHOWN,
        "done": _writebacks(
            recent_writebacks(session=db, clinic_id=clinic_id, limit=DONE_SHOWN, statuses=("done",))
        ),
        "max_attempts": MAX_ATTEMPTS,
    }


@router.get("", summary="The clinic's EHR connection, sync runs and write-backs")
def ehr_page(request: Request, viewer: ViewerDep, db: SessionDep, settings: SettingsDep) -> HTMLResponse:
    role_required(viewer, Role.ADMIN)
    return render(request, "ehr.html", _context(viewer, db), settings=settings)


def _connected(viewer: Viewer, db: SessionDep) -> FhirConnection:
    found = connections.find(session=db, clinic_id=viewer.clinic.id)
    if found is None:
        raise PageError(
            409,
            "This clinic is not connected to an EHR",
            "Connect the clinic's FHIR server first (PUT /admin/fhir/connection), then sync.",
        )
    return found


def _sync_said(run: FhirSyncRun) -> str:
    if run.status != "succeeded":
        return f"Sync failed: {run.error or 'no reason recorded'}. Nothing from it was stored."
    view = run_view(run)
    return f"Sync finished: {'; '.join(view.lines)}."


@router.post("/sync", summary="Sync from the EHR now")
def sync_now(
    form: FormDep, viewer: ViewerDep, db: SessionDep, engine: EngineDep, settings: SettingsDep
) -> Response:
    role_required(viewer, Role.ADMIN)
    _connected(viewer, db)
    db.rollback()  # the sync writes in its own transactions: hold no read snapshot open meanwhile
    try:
        run = sync_clinic(engine=engine, clinic_id=viewer.clinic.id, redis_url=settings.redis_url)
        said = _sync_said(run)
    except DomainError as exc:
        said = f"The sync did not start: {exc.detail}."
    response = RedirectResponse(PAGE, status_code=303)
    flash(response, said)
    return response


@router.post("/writebacks/retry", summary="Try the pending and failed write-backs again now")
def retry_now(form: FormDep, viewer: ViewerDep, db: SessionDep, engine: EngineDep) -> Response:
    role_required(viewer, Role.ADMIN)
    connection = _connected(viewer, db)
    if not connection.writeback_enabled:
        said = "Write-back is off for this clinic: nothing was written to the EHR."
    else:
        db.rollback()
        outcomes = retry_writebacks(engine=engine, clinic_id=viewer.clinic.id)
        said = (
            f"Write-backs tried again: {outcomes['done']} written, {outcomes['failed']} failed "
            "(a failed one keeps its error below and is tried again on the next sync)."
        )
    response = RedirectResponse(PAGE, status_code=303)
    flash(response, said)
    return response
