"""Sending only reviewed translations: which language a built-in text goes out in when a clinic asks.

A clinic that requires reviewed translations treats a draft catalog (or a text whose source changed
since its review) like a missing one: the campaign's fallback policy then sends the text in the first
reviewed language of the clinic default and English, or holds it. The outbox row records the language
actually used, so the outcome report counts it as a fallback.
"""

from __future__ import annotations

from dataclasses import dataclass

from outreach.i18n.languages import Negotiated, negotiate
from outreach.i18n.provenance import is_reviewed
from outreach.i18n.render import template_text


@dataclass(frozen=True, slots=True)
class ReviewedText:
    """A built-in text in a reviewed language, used in place of a draft translation."""

    text: str
    language: str


def reviewed_choice(key: str, wanted: Negotiated, *, clinic_default: str) -> ReviewedText | None:
    """None when the wanted language's translation of `key` is reviewed; else the reviewed fallback."""
    source = template_text(key, "en")
    if is_reviewed(wanted.language, source):
        return None
    default = negotiate(None, clinic_default=clinic_default).language
    language = default if is_reviewed(default, source) else "en"
    return ReviewedText(template_text(key, language), language)
