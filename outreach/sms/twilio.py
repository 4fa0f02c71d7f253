"""Twilio: the only module that imports the twilio SDK."""

from __future__ import annotations

from collections.abc import Mapping

from twilio.request_validator import RequestValidator


def validate_signature(*, auth_token: str, url: str, params: Mapping[str, str], signature: str) -> bool:
    """Whether X-Twilio-Signature matches this URL and form, per Twilio's algorithm."""
    return bool(RequestValidator(auth_token).validate(url, dict(params), signature))


def sign_request(*, auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """The X-Twilio-Signature Twilio would send for this URL and form (for the simulator and tests)."""
    return str(RequestValidator(auth_token).compute_signature(url, dict(params)))
