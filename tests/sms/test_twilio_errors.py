"""Twilio error codes in plain language and what each means for the patient's record."""

from __future__ import annotations

import pytest

from outreach.sms.twilio_errors import describe


@pytest.mark.parametrize(
    ("code", "category"),
    [
        (21610, "opted_out"),
        (21211, "undeliverable"),
        (21614, "undeliverable"),
        (30006, "undeliverable"),
        (30003, "failed"),
        (30004, "failed"),
        (30005, "failed"),
        (30007, "failed"),
        (30008, "failed"),
        (30034, "failed"),
        (21408, "failed"),
        (21606, "failed"),
        (21612, "failed"),
    ],
)
def test_known_codes_have_their_category_and_a_reason_without_jargon(code: int, category: str) -> None:
    info = describe(code)
    assert info.category == category
    assert str(code) not in info.reason, "a listed code gets a sentence, not its number"
    assert info.reason.endswith(".")


def test_opt_out_reason_tells_staff_the_patient_replied_stop() -> None:
    assert "STOP" in describe(21610).reason


def test_unlisted_and_missing_codes_still_explain_themselves() -> None:
    unlisted = describe(12345)
    assert (unlisted.category, "12345" in unlisted.reason) == ("failed", True)
    assert describe(None).category == "failed"
    assert "no reason" in describe(None).reason
