"""Synthetic FHIR R4 patients and appointments in several languages, shaped like a US Core EHR export."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

LANGUAGES = ("es-MX", "zh-TW", "vi", "en-US", "ru", "ko", "ar", "tl", "ht", "pt-BR", "fr", "so")
GIVEN = ("Ana", "Minh", "Wei", "Olga", "Fatima", "José", "Amina", "Joseph", "Priya", "Kwame")
RACES = ("2106-3", "2054-5", "2028-9", "1002-5", "2076-8")
RACE_URL = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
ETHNICITY_URL = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity"
OMB = "urn:oid:2.16.840.1.113883.6.238"


def patient(i: int) -> dict[str, Any]:
    """Patient number i: an MRN, an official name, a mobile number, a language, race and ethnicity."""
    hispanic = i % 3 == 0
    return {
        "resourceType": "Patient",
        "id": f"pat-{i}",
        "meta": {"versionId": "1", "lastUpdated": "2026-11-30T10:00:00Z"},
        "extension": [
            {
                "url": RACE_URL,
                "extension": [
                    {"url": "ombCategory", "valueCoding": {"system": OMB, "code": RACES[i % len(RACES)]}},
                    {"url": "text", "valueString": "race"},
                ],
            },
            {
                "url": ETHNICITY_URL,
                "extension": [
                    {
                        "url": "ombCategory",
                        "valueCoding": {"system": OMB, "code": "2135-2" if hispanic else "2186-5"},
                    },
                    {"url": "text", "valueString": "ethnicity"},
                ],
            },
        ],
        "identifier": [
            {
                "type": {
                    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]
                },
                "system": "urn:oid:1.2.36.146.595.217.0.1",
                "value": f"M{i:08d}",
            }
        ],
        "name": [{"use": "official", "family": "Doe", "given": [GIVEN[i % len(GIVEN)]]}],
        "telecom": [
            {"system": "phone", "value": f"(202) 555-{i % 10000:04d}", "use": "home"},
            {
                "system": "phone",
                "value": f"+1 202 {200 + i // 10000 % 800:03d} {i % 10000:04d}",
                "use": "mobile",
            },
        ],
        "gender": ("female", "male", "other", "unknown")[i % 4],
        "birthDate": f"{1940 + i % 60}-{1 + i % 12:02d}-{1 + i % 28:02d}",
        "address": [
            {
                "use": "home",
                "line": ["1 Main St"],
                "city": "Washington",
                "state": "DC",
                "postalCode": f"2{i % 10000:04d}",
            }
        ],
        "communication": [
            {
                "language": {
                    "coding": [{"system": "urn:ietf:bcp:47", "code": LANGUAGES[i % len(LANGUAGES)]}]
                },
                "preferred": True,
            }
        ],
    }


def appointment(i: int, patient_index: int, start: datetime) -> dict[str, Any]:
    """Appointment number i for a patient, booked (every tenth one cancelled)."""
    return {
        "resourceType": "Appointment",
        "id": f"appt-{i}",
        "meta": {"versionId": "1"},
        "status": "cancelled" if i % 10 == 9 else "booked",
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=20)).isoformat(),
        "participant": [
            {"actor": {"reference": f"Patient/pat-{patient_index}"}, "status": "accepted"},
            {
                "actor": {"reference": "Location/loc-1", "display": "Main St Clinic, Room 2"},
                "status": "accepted",
            },
        ],
    }


def appointments(patients: int, per_patient: int, *, first: datetime) -> Iterator[dict[str, Any]]:
    """`per_patient` visits for each patient, on a 15-minute grid from `first`."""
    for n in range(patients * per_patient):
        start = (first + timedelta(minutes=15 * n)).astimezone(UTC)
        yield appointment(n, n % patients, start)


def write_export(folder: Path, *, patients: int, per_patient: int, first: datetime) -> list[Path]:
    """A Bulk Data export (Patient.ndjson, Appointment.ndjson) written line by line."""
    folder.mkdir(parents=True, exist_ok=True)
    people, visits = folder / "Patient.ndjson", folder / "Appointment.ndjson"
    with people.open("w", encoding="utf-8") as out:
        for i in range(patients):
            out.write(json.dumps(patient(i), ensure_ascii=False) + "\n")
    with visits.open("w", encoding="utf-8") as out:
        for resource in appointments(patients, per_patient, first=first):
            out.write(json.dumps(resource) + "\n")
    return [people, visits]
