"""Twilio error codes in plain language, and what each means for the patient's record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Category = Literal["opted_out", "undeliverable", "failed"]


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """What a provider error means: `opted_out` and `undeliverable` also change the patient."""

    category: Category
    reason: str


_ERRORS: dict[int, ErrorInfo] = {
    21610: ErrorInfo("opted_out", "The patient replied STOP to this number, so the carrier blocks texts."),
    21211: ErrorInfo("undeliverable", "The phone number is not valid."),
    21614: ErrorInfo("undeliverable", "The phone number is not a mobile number (it may be a landline)."),
    30006: ErrorInfo("undeliverable", "The number is a landline or the carrier cannot reach it."),
    30003: ErrorInfo("failed", "The phone was off or out of service when the carrier tried to deliver."),
    30004: ErrorInfo("failed", "The carrier blocked the text to this number."),
    30005: ErrorInfo("failed", "The number is unknown or no longer active."),
    30007: ErrorInfo("failed", "The carrier filtered the text as possible spam."),
    30008: ErrorInfo("failed", "The carrier could not deliver the text for an unknown reason."),
    30034: ErrorInfo("failed", "The sending number is not registered for business texting (10DLC)."),
    21408: ErrorInfo("failed", "Texting to this country is not turned on for the account."),
    21606: ErrorInfo("failed", "The sending number cannot send texts."),
    21612: ErrorInfo("failed", "Twilio cannot route texts between these two numbers."),
    21617: ErrorInfo("failed", "The text is longer than the allowed length."),
    30001: ErrorInfo("failed", "Twilio's queue for this sender overflowed; the text was not sent."),
    20003: ErrorInfo("failed", "Twilio refused the account credentials; check the account settings."),
    30002: ErrorInfo("failed", "The Twilio account is suspended."),
}


def describe(code: int | None) -> ErrorInfo:
    """The plain-language meaning of a Twilio error code (a generic one for codes we do not list)."""
    if code is None:
        return ErrorInfo("failed", "The text could not be delivered; the provider gave no reason.")
    return _ERRORS.get(code, ErrorInfo("failed", f"Twilio error {code}: the text was not delivered."))
