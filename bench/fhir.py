"""`python -m bench fhir --patients 50000`: importing a FHIR Bulk Data export (NDJSON) into PostgreSQL.

Writes an export of N synthetic US Core patients and 2N appointments to a temporary folder, then times
`outreach.fhir.importing.import_paths` on it in one transaction (validation with the fhir.resources
models, mapping, set-based upserts; a worker process validates and maps while this one writes), and
reports the peak memory of both processes added up.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench._support import peak_rss_mb, temp_database
from outreach.clinics.service import create_clinic
from outreach.db import engine_for, session_scope
from outreach.fhir.importing import import_paths
from tests.fhir.synthetic import write_export


def main(argv: list[str]) -> dict[str, object]:
    """Import the export once and return the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench fhir")
    parser.add_argument("--patients", type=int, default=50000)
    args = parser.parse_args(argv)
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as folder, temp_database("outreach_bench_fhir") as url:
        paths = write_export(
            Path(folder), patients=args.patients, per_patient=2, first=now + timedelta(days=3)
        )
        engine = engine_for(url)
        with session_scope(engine) as session:
            clinic = create_clinic(
                session=session,
                name="Bench",
                phone="+12025550100",
                timezone="America/New_York",
                default_language="en",
                default_region="US",
            )
        began = time.perf_counter()
        with session_scope(engine) as session:
            summary = import_paths(
                session=session, clinic=clinic, source="bench", mrn_system="", paths=paths, now=now
            )
        seconds = time.perf_counter() - began
    total = summary.total()
    return {
        "bench": "fhir",
        "resources": total,
        "seconds": round(seconds, 2),
        "resources_per_s": round(total / seconds),
        # This process's peak plus the validating worker's (an upper bound: the two peaks may not overlap).
        "peak_rss_mb": round(
            peak_rss_mb() + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1
        ),
    }
