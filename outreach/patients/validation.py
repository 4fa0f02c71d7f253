"""Checks for the patient fields a clinic sends: phone numbers, time zones, regions, CSV rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from functools import lru_cache
from zoneinfo import available_timezones

import phonenumbers


class FieldError(ValueError):
    """A field's value is not acceptable; the message names the field and the reason."""

    def __init__(self, *, field: str, value: str, reason: str) -> None:
        super().__init__(f"{field} '{value}': {reason}")
        self.field = field
        self.value = value
        self.reason = reason


CSV_REQUIRED = ("external_id", "phone")
CSV_OPTIONAL = (
    "given_name",
    "family_name",
    "language",
    "timezone",
    "consent",
    "appointment_start",
    "appointment_location",
    "birth_date",
    "sex",
    "race",
    "ethnicity",
    "postal_code",
    "interpreter_needed",
)


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def validate_region(code: str) -> str:
    """An ISO 3166 alpha-2 region that phone numbers can be parsed for."""
    region = code.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise FieldError(
            field="default_region", value=code, reason="is not a supported two-letter region code"
        )
    return region


def normalize_phone(raw: str, *, default_region: str) -> str:
    """The number in E.164 form (+15551234567); numbers without + are read in `default_region`."""
    text = raw.strip()
    if not text or any(c.isalpha() for c in text):
        raise FieldError(
            field="phone", value=raw, reason="must be a phone number (digits, +, spaces, dashes)"
        )
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        reason = f"cannot be read as a number for region {default_region}"
        raise FieldError(field="phone", value=raw, reason=reason) from None
    if not phonenumbers.is_valid_number(number):
        raise FieldError(
            field="phone", value=raw, reason=f"is not a valid number for region {default_region}"
        )
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def validate_timezone(name: str) -> str:
    """An IANA time zone name such as America/Chicago."""
    zone = name.strip()
    if zone not in _zones() or zone in {"localtime", "Factory"}:
        raise FieldError(
            field="timezone", value=name, reason="is not an IANA time zone such as America/Chicago"
        )
    return zone


def iter_csv_rows(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) for each CSV record; the header is line 1, so the first record is line 2."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    headers = [h.strip() for h in reader.fieldnames or []]
    missing = [h for h in CSV_REQUIRED if h not in headers]
    if missing:
        raise FieldError(field="header", value=",".join(headers), reason=f"is missing {', '.join(missing)}")
    unknown = [h for h in headers if h not in CSV_REQUIRED + CSV_OPTIONAL]
    if unknown:
        raise FieldError(field="header", value=",".join(unknown), reason="has columns outreach does not know")
    line = reader.line_num
    for record in reader:
        yield line + 1, {k.strip(): (v or "").strip() for k, v in record.items() if k is not None}
        line = reader.line_num
