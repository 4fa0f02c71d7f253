"""Optional patient attributes a clinic may record for its equity report, and the checks on them.

Every attribute is optional; a clinic that records none still gets every report by language. The codes
are the ones US Core uses, so a FHIR import can carry them over unchanged:

- `sex`: FHIR AdministrativeGender (`male`, `female`, `other`, `unknown`).
- `race`: OMB race categories from the CDC Race & Ethnicity code system (US Core race extension,
  `ombCategory`), one or more, plus `ASKU` (asked, declined) and `UNK` (unknown), which stand alone.
  Stored sorted and comma-joined (`2028-9,2106-3`), so one patient's set of codes has one spelling.
- `ethnicity`: OMB ethnicity (`2135-2` Hispanic or Latino, `2186-5` Not Hispanic or Latino), or
  `ASKU` / `UNK`.
- `birth_date`: not in the future and not before 1900; the report shows only age bands.
- `postal_code`: a US ZIP (`12345`) or ZIP+4 (`12345-6789`); the report shows only the first three digits.
- `interpreter_needed`: recorded explicitly (FHIR's patient-interpreterRequired extension); when it is
  null the report derives it from the patient's language and the languages the clinic's coordinators read.

Birth date and postal code are identifiers under HIPAA: models and schemas keep all of these out of
`repr`, and no log line carries them. Both are stored encrypted; beside them, in the clear, the patient
table keeps only what HIPAA's Safe Harbor method allows and the report needs (`clear_columns`):

- `birth_year`: the year of birth, except that nobody is stored older than 90 at the time of writing (Safe
  Harbor folds every age over 89 into one "90 or older"). The report's oldest band is 65+, so a patient
  whose year was raised stays in the right band in every later year.
- `postal3`: the first three digits of the ZIP code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

from outreach.db import utcnow

SEX_CODES: dict[str, str] = {"male": "Male", "female": "Female", "other": "Other", "unknown": "Unknown"}
RACE_CODES: dict[str, str] = {
    "1002-5": "American Indian or Alaska Native",
    "2028-9": "Asian",
    "2054-5": "Black or African American",
    "2076-8": "Native Hawaiian or Other Pacific Islander",
    "2106-3": "White",
    "ASKU": "Asked but declined",
    "UNK": "Unknown",
}
ETHNICITY_CODES: dict[str, str] = {
    "2135-2": "Hispanic or Latino",
    "2186-5": "Not Hispanic or Latino",
    "ASKU": "Asked but declined",
    "UNK": "Unknown",
}
_ALONE = frozenset({"ASKU", "UNK"})
_ZIP = re.compile(r"^(\d{5})(?:-?(\d{4}))?$")
EARLIEST_BIRTH_DATE = date(1900, 1, 1)
OLDEST_STORED_AGE = 90  # HIPAA Safe Harbor: ages over 89 are one category, "90 or older"


def _codes_list(value: object) -> object:
    """A CSV cell (`2106-3;2028-9` or `2106-3,2028-9`) becomes a list; lists pass through."""
    if isinstance(value, str):
        return [part for part in re.split(r"[,;|\s]+", value.strip()) if part]
    return value


def check_birth_date(value: date) -> date:
    """Not in the future (by the UTC date) and not before 1900."""
    if value > utcnow().date():
        raise ValueError(f"'{value.isoformat()}' is in the future")
    if value < EARLIEST_BIRTH_DATE:
        raise ValueError(f"'{value.isoformat()}' is before 1900")
    return value


def check_sex(value: str) -> str:
    """A FHIR AdministrativeGender code."""
    if value not in SEX_CODES:
        raise ValueError(f"'{value}' must be one of {', '.join(SEX_CODES)} (FHIR AdministrativeGender)")
    return value


def check_race(values: list[str]) -> list[str]:
    """Known OMB race codes, sorted and without repeats; ASKU and UNK only on their own."""
    codes = sorted(set(values))
    unknown = [c for c in codes if c not in RACE_CODES]
    if unknown:
        allowed = ", ".join(RACE_CODES)
        raise ValueError(f"'{unknown[0]}' is not an OMB race category code ({allowed})")
    if len(codes) > 1 and _ALONE & set(codes):
        raise ValueError("ASKU and UNK cannot be combined with other race codes")
    return codes


def stored_race(codes: list[str] | None) -> str | None:
    """Race codes as stored: sorted and comma-joined; no codes is null."""
    return ",".join(sorted(set(codes))) if codes else None


def check_ethnicity(value: str) -> str:
    """An OMB ethnicity code, or ASKU / UNK."""
    if value not in ETHNICITY_CODES:
        raise ValueError(f"'{value}' must be one of {', '.join(ETHNICITY_CODES)} (OMB ethnicity)")
    return value


def check_postal_code(value: str) -> str:
    """A US ZIP or ZIP+4, as `12345` or `12345-6789`."""
    match = _ZIP.match(value.strip())
    if match is None:
        raise ValueError(f"'{value}' is not a US ZIP code (12345 or 12345-6789)")
    five, four = match.groups()
    return f"{five}-{four}" if four else five


def stored_birth_year(born: date | None, *, today: date) -> int | None:
    """The birth year kept in the clear: the year, raised so nobody is older than 90 in `today`'s year."""
    return None if born is None else max(born.year, today.year - OLDEST_STORED_AGE)


def postal3(code: str | None) -> str | None:
    """The first three digits of a ZIP code (the part kept in the clear), or None."""
    return code[:3] if code else None


def clear_columns(*, birth_date: date | None, postal_code: str | None, today: date) -> dict[str, Any]:
    """What a patient row keeps in the clear beside its encrypted birth date and ZIP code (every writer of
    patient rows sets these: the ORM on each flush, the bulk writers per row)."""
    return {"birth_year": stored_birth_year(birth_date, today=today), "postal3": postal3(postal_code)}


def race_codes(stored: str | None) -> list[str] | None:
    """The stored comma-joined race codes as a list."""
    return stored.split(",") if stored else None


BirthDate = Annotated[date, AfterValidator(check_birth_date)]
Sex = Annotated[str, AfterValidator(check_sex)]
Race = Annotated[list[str], BeforeValidator(_codes_list), Field(max_length=7), AfterValidator(check_race)]
Ethnicity = Annotated[str, AfterValidator(check_ethnicity)]
PostalCode = Annotated[str, Field(max_length=10), AfterValidator(check_postal_code)]

ATTRIBUTES = ("birth_date", "sex", "race", "ethnicity", "postal_code", "interpreter_needed")


def labels(codes: Iterable[str], table: dict[str, str]) -> str:
    """Display names of codes, joined."""
    return ", ".join(table.get(c, c) for c in codes)
