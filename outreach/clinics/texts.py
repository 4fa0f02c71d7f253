"""The clinic's program name in the language of the text it appears in (the HELP answer)."""

from __future__ import annotations

from collections.abc import Mapping

from outreach.i18n import SystemText, template_text
from outreach.i18n.messages import SYSTEM_TEXTS

DEFAULT_PROGRAM_NAME = SYSTEM_TEXTS[SystemText.PROGRAM_NAME]


def program_name_for(*, name: str, names: Mapping[str, object] | None, language: str) -> str:
    """The clinic's own name for this language; else the catalogued default's translation when the clinic
    kept the default; else the clinic's one name (a brand name reads the same in every language)."""
    own = (names or {}).get(language)
    if isinstance(own, str) and own.strip():
        return own.strip()
    if name == DEFAULT_PROGRAM_NAME:
        return template_text(SystemText.PROGRAM_NAME, language)
    return name
