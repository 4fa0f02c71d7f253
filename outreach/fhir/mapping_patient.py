"""How a FHIR R4 Patient becomes an outreach patient. Each rule is one function, tested one by one.

1. MRN: the `identifier` whose system is the clinic's configured MRN system, else the first whose type
   is v2-0203 `MR`; identifiers with `use` old or an ended `period` are passed over. No MRN: the patient
   is kept by its FHIR id and source alone.
2. Name: given (first given name) and family from the `official` name, else `usual`, else the first
   name that is not old, maiden or anonymous; ended names are passed over.
3. Phone: among current `telecom` entries (no `use` old, `period` not ended), a `sms` entry first,
   then a `phone` with `use` mobile, then any other `phone`; within each, lower `rank` first (unranked
   last), then document order. The first that is a valid number in the clinic's region is used. None:
   the patient is stored but not textable, and the reason is kept and shown.
4. Language: the `communication` marked `preferred`, else the first; its BCP-47 coding
   (urn:ietf:bcp:47), else any coding that is a valid tag, else its text read as a language name
   ("Polish", "Español"). Stored as a canonical tag (es-MX, zh-Hant-TW) that outreach negotiates at send
   time (es-MX → es, zh-TW → zh-Hant); none → the clinic's default language.
5. Interpreter needed: the `patient-interpreterRequired` extension's boolean.
6. Birth date (a full date, not in the future nor before 1900), administrative gender (male, female,
   other, unknown), and the US ZIP code of the current home address (else of the first current
   address that has one; a postal code that is not a US ZIP is left out).
7. Race and ethnicity: the US Core race / ethnicity extensions' `ombCategory` codes (OMB 1997:
   1002-5, 2028-9, 2054-5, 2076-8, 2106-3; 2135-2, 2186-5; ASKU, UNK); race codes sorted and
   comma-joined (ASKU or UNK only when no real category is given), other codes left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from babel import Locale

from outreach.fhir.periods import is_current
from outreach.i18n.languages import SUPPORTED, is_valid_tag
from outreach.patients.attributes import check_birth_date, check_postal_code, stored_race
from outreach.patients.validation import FieldError, normalize_phone

MR_TYPE = ("http://terminology.hl7.org/CodeSystem/v2-0203", "MR")
BCP47 = "urn:ietf:bcp:47"
INTERPRETER = "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired"
US_CORE_RACE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
US_CORE_ETHNICITY = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity"
RACE_CODES = frozenset({"1002-5", "2028-9", "2054-5", "2076-8", "2106-3", "ASKU", "UNK"})
ETHNICITY_CODES = frozenset({"2135-2", "2186-5", "ASKU", "UNK"})
SEXES = frozenset({"male", "female", "other", "unknown"})
NO_PHONE = "no current phone number in the EHR record"


@dataclass(frozen=True, slots=True)
class MappedPatient:
    """What outreach keeps of a FHIR Patient."""

    fhir_id: str
    version_id: str | None
    mrn: str | None
    given_name: str
    family_name: str
    phone: str | None
    not_textable: str | None  # why there is no phone to text, when there is none
    language: str | None
    interpreter_needed: bool | None
    birth_date: date | None
    sex: str | None
    postal_code: str | None
    race: str | None
    ethnicity: str | None

    def attributes(self) -> dict[str, object]:
        """The demographic attributes, by patient column name."""
        return {
            "birth_date": self.birth_date,
            "sex": self.sex,
            "race": self.race,
            "ethnicity": self.ethnicity,
            "postal_code": self.postal_code,
            "interpreter_needed": self.interpreter_needed,
        }


def _codings(concept: dict[str, Any] | None) -> list[dict[str, Any]]:
    return list((concept or {}).get("coding") or [])


def mrn(identifiers: list[dict[str, Any]], *, mrn_system: str = "", today: date) -> str | None:
    """Rule 1: the configured system's value, else the first MR-typed identifier's."""
    usable = [
        i
        for i in identifiers
        if i.get("value") and i.get("use") != "old" and is_current(i.get("period"), today=today)
    ]
    if mrn_system:
        for identifier in usable:
            if identifier.get("system") == mrn_system:
                return str(identifier["value"])[:64]
    for identifier in usable:
        for coding in _codings(identifier.get("type")):
            if (coding.get("system"), coding.get("code")) == MR_TYPE or (
                coding.get("code") == "MR" and not coding.get("system")
            ):
                return str(identifier["value"])[:64]
    return None


def name(names: list[dict[str, Any]], *, today: date) -> tuple[str, str]:
    """Rule 2: (given, family) of the official name, else usual, else the first ordinary one."""
    current = [n for n in names if is_current(n.get("period"), today=today)]
    chosen = next((n for n in current if n.get("use") == "official"), None)
    chosen = chosen or next((n for n in current if n.get("use") == "usual"), None)
    chosen = chosen or next((n for n in current if n.get("use") not in ("old", "maiden", "anonymous")), None)
    if chosen is None:
        return "", ""
    given = chosen.get("given") or []
    return (str(given[0]) if given else "")[:80], str(chosen.get("family") or "")[:80]


def _phone_order(entry: tuple[int, dict[str, Any]]) -> tuple[int, int, int]:
    position, contact = entry
    kind = 0 if contact.get("system") == "sms" else 1 if contact.get("use") == "mobile" else 2
    rank = contact.get("rank")
    return kind, int(rank) if rank is not None else 1 << 30, position


def phone(telecom: list[dict[str, Any]], *, region: str, today: date) -> tuple[str | None, str | None]:
    """Rule 3: (E.164 number, None), or (None, why the patient cannot be texted)."""
    candidates = [
        (position, contact)
        for position, contact in enumerate(telecom)
        if contact.get("system") in ("sms", "phone")
        and contact.get("value")
        and contact.get("use") != "old"
        and is_current(contact.get("period"), today=today)
    ]
    if not candidates:
        return None, NO_PHONE
    for _, contact in sorted(candidates, key=_phone_order):
        try:
            return normalize_phone(str(contact["value"]), default_region=region), None
        except FieldError:
            continue
    return None, f"no phone number in the EHR record is a valid number for region {region}"


@lru_cache(maxsize=1)
def _language_names() -> dict[str, str]:
    """Language names (in English and in each supported language itself) → tag, lower-cased."""
    names: dict[str, str] = {}
    for code, label in Locale("en").languages.items():
        names.setdefault(label.lower(), code)
    for tag in SUPPORTED:
        own = Locale.parse(tag.replace("-", "_")).get_display_name(tag.replace("-", "_"))
        if own:
            names.setdefault(own.lower(), tag)
    names.update({"chinese": "zh", "mandarin": "zh", "cantonese": "zh-HK", "tagalog": "tl"})
    return names


def canonical_tag(tag: str) -> str:
    """A BCP-47 tag in its usual casing: es-mx → es-MX, zh_hant_tw → zh-Hant-TW."""
    parts = tag.replace("_", "-").split("-")
    out = [parts[0].lower()]
    for part in parts[1:]:
        out.append(part.title() if len(part) == 4 else part.upper() if len(part) == 2 else part.lower())
    return "-".join(out)


def language(communication: list[dict[str, Any]]) -> str | None:
    """Rule 4: the preferred (else first) communication's language as a canonical BCP-47 tag."""
    if not communication:
        return None
    chosen = next((c for c in communication if c.get("preferred") is True), communication[0])
    concept = chosen.get("language") or {}
    codings = _codings(concept)
    ordered = [c for c in codings if c.get("system") == BCP47] + [
        c for c in codings if c.get("system") != BCP47
    ]
    for coding in ordered:
        code = str(coding.get("code") or "")
        if code and is_valid_tag(code):
            return canonical_tag(code)
    text = str(concept.get("text") or "").strip().lower()
    if text in _language_names():
        return canonical_tag(_language_names()[text])
    if text and is_valid_tag(text):
        return canonical_tag(text)
    return None


def _extension(extensions: list[dict[str, Any]], url: str) -> dict[str, Any] | None:
    return next((e for e in extensions if e.get("url") == url), None)


def interpreter_needed(extensions: list[dict[str, Any]]) -> bool | None:
    """Rule 5: the interpreterRequired extension's valueBoolean, when present."""
    found = _extension(extensions, INTERPRETER)
    value = None if found is None else found.get("valueBoolean")
    return bool(value) if isinstance(value, bool) else None


def postal_code(addresses: list[dict[str, Any]], *, today: date) -> str | None:
    """Rule 6: the current home address's postal code, else the first current address that has one."""
    current = [a for a in addresses if a.get("postalCode") and is_current(a.get("period"), today=today)]
    current = [a for a in current if a.get("use") != "old"]
    chosen = next((a for a in current if a.get("use") == "home"), current[0] if current else None)
    if chosen is None:
        return None
    try:
        return check_postal_code(str(chosen["postalCode"]))
    except ValueError:  # outside the US: the report groups US ZIP codes only
        return None


def _omb(extensions: list[dict[str, Any]], url: str, allowed: frozenset[str]) -> list[str]:
    found = _extension(extensions, url)
    if found is None:
        return []
    codes = {
        str((part.get("valueCoding") or {}).get("code"))
        for part in found.get("extension") or []
        if part.get("url") == "ombCategory"
    }
    return sorted(codes & allowed)


def race(extensions: list[dict[str, Any]]) -> str | None:
    """Rule 7: the US Core race ombCategory codes, sorted and comma-joined (ASKU/UNK only alone)."""
    codes = _omb(extensions, US_CORE_RACE, RACE_CODES)
    known = [c for c in codes if c not in ("ASKU", "UNK")]
    return stored_race(known or codes[:1])


def ethnicity(extensions: list[dict[str, Any]]) -> str | None:
    """Rule 7: the US Core ethnicity ombCategory code."""
    codes = _omb(extensions, US_CORE_ETHNICITY, ETHNICITY_CODES)
    return codes[0] if codes else None


def birth_date(raw: object) -> date | None:
    """Rule 6: a full birth date, when it is not in the future or before 1900 (a partial one is left out)."""
    if not isinstance(raw, str) or len(raw) != 10:
        return None
    try:
        return check_birth_date(date.fromisoformat(raw))
    except ValueError:
        return None


def map_patient(data: dict[str, Any], *, region: str, mrn_system: str, today: date) -> MappedPatient:
    """A validated Patient resource's JSON, mapped by rules 1-7."""
    extensions = list(data.get("extension") or [])
    given, family = name(list(data.get("name") or []), today=today)
    number, not_textable = phone(list(data.get("telecom") or []), region=region, today=today)
    born = data.get("birthDate")
    gender = data.get("gender")
    return MappedPatient(
        fhir_id=str(data["id"]),
        version_id=(data.get("meta") or {}).get("versionId"),
        mrn=mrn(list(data.get("identifier") or []), mrn_system=mrn_system, today=today),
        given_name=given,
        family_name=family,
        phone=number,
        not_textable=not_textable,
        language=language(list(data.get("communication") or [])),
        interpreter_needed=interpreter_needed(extensions),
        birth_date=birth_date(born),
        sex=gender if gender in SEXES else None,
        postal_code=postal_code(list(data.get("address") or []), today=today),
        race=race(extensions),
        ethnicity=ethnicity(extensions),
    )
