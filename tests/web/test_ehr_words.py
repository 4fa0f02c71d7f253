"""A sync run's counts in the words the EHR page uses."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from outreach.fhir.models import FhirSyncRun
from outreach.web.ehr import run_view


def test_patient_events_are_said_only_when_a_run_had_some() -> None:
    quiet = FhirSyncRun(
        clinic_id=uuid.uuid4(),
        started_at=datetime(2026, 12, 3, 9, 0, tzinfo=UTC),
        status="succeeded",
        counts={"Appointment": {"created": 1}, "events": {"recorded": 0, "journeys_started": 0}, "pages": 1},
    )
    assert run_view(quiet).lines == ["Appointment: 1 created", "1 page"]
    busy = FhirSyncRun(
        clinic_id=quiet.clinic_id,
        started_at=quiet.started_at,
        status="succeeded",
        counts={
            "Encounter": {"created": 2, "skipped": 1},
            "events": {"recorded": 2, "corrected": 1, "journeys_started": 1, "history": 3},
            "pages": 2,
        },
    )
    assert run_view(busy).lines == [
        "Encounter: 2 created, 1 skipped",
        "2 events recorded, 1 event corrected, 1 journey started, 3 events too old to start a journey",
        "2 pages",
    ]
