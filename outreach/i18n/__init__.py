"""Languages: negotiation, rendering, segment counting and reply keywords."""

from __future__ import annotations

from outreach.i18n.folding import normalize
from outreach.i18n.keywords import KeywordMatch, find_urgent, match_keyword
from outreach.i18n.languages import RTL, SUPPORTED, Negotiated, is_valid_tag, negotiate
from outreach.i18n.messages import SystemText, TemplateKey
from outreach.i18n.policy import ReviewedText, reviewed_choice
from outreach.i18n.provenance import LanguageStatus, all_statuses, is_reviewed, review_notice
from outreach.i18n.render import (
    ALLOWED_PLACEHOLDERS,
    MissingPlaceholder,
    Rendered,
    UnknownTemplate,
    format_datetime_local,
    placeholders,
    render_system,
    render_template,
    render_text,
    template_text,
)
from outreach.i18n.segments import Segments, count_segments

__all__ = [
    "ALLOWED_PLACEHOLDERS", "RTL", "SUPPORTED", "KeywordMatch", "LanguageStatus", "MissingPlaceholder",
    "Negotiated", "Rendered", "ReviewedText", "Segments", "SystemText", "TemplateKey", "UnknownTemplate",
    "all_statuses", "count_segments", "find_urgent", "format_datetime_local", "is_reviewed", "is_valid_tag",
    "match_keyword", "negotiate", "normalize", "placeholders", "render_system", "render_template",
    "render_text", "review_notice", "reviewed_choice", "template_text",
]  # fmt: skip
