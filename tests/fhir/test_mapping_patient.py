"""Patient mapping, rule by rule (outreach/fhir/mapping_patient.py), with hand-written expectations."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from outreach.fhir import mapping_patient as m

TODAY = date(2026, 12, 3)
MR = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}


def test_mrn_is_the_mr_typed_identifier_and_a_configured_system_wins() -> None:
    ids: list[dict[str, Any]] = [
        {"system": "http://hl7.org/fhir/sid/us-ssn", "value": "999-99-9999"},
        {"type": MR, "system": "urn:oid:1.2.3", "value": "A100"},
        {"system": "urn:clinic:chart", "value": "C-7"},
    ]
    assert m.mrn(ids, today=TODAY) == "A100"
    assert m.mrn(ids, mrn_system="urn:clinic:chart", today=TODAY) == "C-7"
    assert m.mrn(ids[:1], today=TODAY) is None


def test_an_old_or_ended_mrn_is_passed_over() -> None:
    ids: list[dict[str, Any]] = [
        {"type": MR, "value": "OLD-1", "period": {"end": "2019-05"}},
        {"type": MR, "value": "OLD-2", "use": "old"},
        {"type": MR, "value": "NOW-3"},
    ]
    assert m.mrn(ids, today=TODAY) == "NOW-3"


def test_name_prefers_official_then_usual_and_skips_maiden_and_ended_names() -> None:
    official = {"use": "official", "given": ["Peter", "James"], "family": "Chalmers"}
    usual = {"use": "usual", "given": ["Jim"]}
    maiden = {"use": "maiden", "given": ["Petra"], "family": "Windsor"}
    assert m.name([maiden, usual, official], today=TODAY) == ("Peter", "Chalmers")
    assert m.name([maiden, usual], today=TODAY) == ("Jim", "")
    ended = {**official, "period": {"end": "2020-01-01"}}
    assert m.name([maiden, ended], today=TODAY) == ("", "")
    assert m.name([{"given": ["Amy", "V."], "family": "Shaw"}], today=TODAY) == ("Amy", "Shaw")


def test_phone_ranks_sms_over_mobile_over_other_current_phones() -> None:
    home = {"system": "phone", "value": "(202) 555-0100", "use": "home"}
    mobile = {"system": "phone", "value": "202-555-0101", "use": "mobile"}
    sms = {"system": "sms", "value": "202 555 0102"}
    assert m.phone([home, mobile, sms], region="US", today=TODAY) == ("+12025550102", None)
    assert m.phone([home, mobile], region="US", today=TODAY) == ("+12025550101", None)
    assert m.phone([home], region="US", today=TODAY) == ("+12025550100", None)


def test_phone_within_a_kind_follows_rank_and_an_ended_number_is_old() -> None:
    first = {"system": "phone", "value": "202-555-0110", "use": "work", "rank": 2}
    second = {"system": "phone", "value": "202-555-0111", "use": "home", "rank": 1}
    ended = {"system": "phone", "value": "202-555-0112", "use": "mobile", "period": {"end": "2024-06-30"}}
    old = {"system": "phone", "value": "202-555-0113", "use": "old"}
    assert m.phone([first, second, ended, old], region="US", today=TODAY) == ("+12025550111", None)


def test_no_current_phone_means_stored_but_not_textable_with_the_reason() -> None:
    email = {"system": "email", "value": "amy@example.com"}
    ended = {"system": "phone", "value": "202-555-0112", "period": {"end": "2014"}}
    assert m.phone([email, ended], region="US", today=TODAY) == (None, m.NO_PHONE)
    bad = {"system": "phone", "value": "555"}
    number, reason = m.phone([bad], region="US", today=TODAY)
    assert number is None
    assert reason == "no phone number in the EHR record is a valid number for region US"


@pytest.mark.parametrize(
    ("communication", "expected"),
    [
        ([{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "es-MX"}]}}], "es-MX"),
        ([{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "zh-tw"}]}}], "zh-TW"),
        (
            [
                {
                    "language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "en-US"}]},
                    "preferred": False,
                },
                {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "ru-RU"}]}, "preferred": True},
            ],
            "ru-RU",
        ),
        (
            [
                {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "vi"}]}},
                {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "ko"}]}},
            ],
            "vi",
        ),
        ([{"language": {"text": "Polish"}}], "pl"),
        ([{"language": {"text": "Español"}}], "es"),
        (
            [
                {
                    "language": {
                        "coding": [{"system": "urn:other", "code": "xx-nonsense-99"}],
                        "text": "Tagalog",
                    }
                }
            ],
            "tl",
        ),
        ([{"language": {"text": "Klingonese"}}], None),
        ([], None),
    ],
)
def test_language_is_the_preferred_or_first_communication_as_a_canonical_tag(
    communication: list[dict[str, object]], expected: str | None
) -> None:
    assert m.language(communication) == expected


def test_interpreter_needed_comes_from_its_extension() -> None:
    yes = [{"url": m.INTERPRETER, "valueBoolean": True}]
    no = [{"url": m.INTERPRETER, "valueBoolean": False}]
    assert m.interpreter_needed(yes) is True
    assert m.interpreter_needed(no) is False
    assert m.interpreter_needed([]) is None


def test_postal_code_is_the_current_home_us_zip() -> None:
    work = {"use": "work", "postalCode": "20001"}
    home = {"use": "home", "postalCode": "20002-1234"}
    moved_out = {"use": "home", "postalCode": "20003", "period": {"end": "2020-01-01"}}
    assert m.postal_code([work, moved_out, home], today=TODAY) == "20002-1234"
    assert m.postal_code([work], today=TODAY) == "20001"
    assert m.postal_code([{"use": "home", "postalCode": "1055RW"}], today=TODAY) is None


def test_birth_date_is_kept_only_when_full_and_plausible() -> None:
    assert m.birth_date("1974-12-25") == date(1974, 12, 25)
    assert m.birth_date("1974") is None
    assert m.birth_date("1850-01-01") is None


def _omb(url: str, *codes: str) -> dict[str, object]:
    parts: list[dict[str, object]] = [{"url": "ombCategory", "valueCoding": {"code": c}} for c in codes]
    parts.append({"url": "detailed", "valueCoding": {"code": "2184-0"}})
    return {"url": url, "extension": [*parts, {"url": "text", "valueString": "x"}]}


def test_race_is_the_sorted_omb_categories_and_ethnicity_the_one_category() -> None:
    extensions = [_omb(m.US_CORE_RACE, "2106-3", "1002-5", "2028-9"), _omb(m.US_CORE_ETHNICITY, "2135-2")]
    assert m.race(extensions) == "1002-5,2028-9,2106-3"
    assert m.ethnicity(extensions) == "2135-2"
    assert m.race([_omb(m.US_CORE_RACE, "UNK", "2054-5")]) == "2054-5"
    assert m.race([_omb(m.US_CORE_RACE, "ASKU")]) == "ASKU"
    assert m.race([]) is None
    assert m.ethnicity([]) is None


def test_the_hl7_example_patient_maps_as_its_text_says() -> None:
    line = (Path(__file__).parent / "samples" / "Patient.ndjson").read_text().splitlines()[0]
    mapped = m.map_patient(json.loads(line), region="US", mrn_system="", today=TODAY)
    # "MRN: 12345 (Acme Healthcare)"; official name Peter James Chalmers; the mobile (rank 2) beats the
    # work phone (rank 1) because mobile outranks other phones; the old number is passed over.
    assert (mapped.mrn, mapped.given_name, mapped.family_name) == ("12345", "Peter", "Chalmers")
    assert mapped.phone == "+12025550101"
    assert (mapped.sex, mapped.birth_date, mapped.postal_code) == ("male", date(1974, 12, 25), None)
