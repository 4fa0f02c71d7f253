"""Who translated each catalog, whether a native speaker reviewed it, and which texts changed since.

Each `locales/<folder>/LC_MESSAGES/outreach.po` header carries four fields, kept by `make catalogs`:

    X-Translated-By: who wrote the translations (a person, an agency, or "machine draft ...")
    X-Review-Status: draft | reviewed
    X-Reviewed-By:   the native speaker who reviewed it (empty for a draft)
    X-Reviewed-On:   YYYY-MM-DD of that review (empty for a draft)

Per message, in a reviewed catalog, a translator comment `# reviewed: <hash>` records the source text the
reviewer read (the first 12 hex digits of the SHA-256 of the English msgid). A message whose source text
changed after the review is stale: `make catalogs` keeps the old translation marked `fuzzy` and adds
`# source-changed: <date> (was <hash>)`; a hand edit that skipped `make catalogs` still shows, because the
hash no longer matches. Translator comments and the fuzzy flag both survive `pybabel update`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from outreach.i18n.languages import CATALOG_DIRS, RTL, locales_dir

FIELDS = ("X-Translated-By", "X-Review-Status", "X-Reviewed-By", "X-Reviewed-On")
REVIEWED = "reviewed:"
SOURCE_CHANGED = "source-changed:"
ReviewStatus = Literal["draft", "reviewed"]
_FIELD_LINE = re.compile(r'^"(X-[A-Za-z-]+): ?(.*?)\\n"$', re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Provenance:
    """A catalog's header fields about its translation and review."""

    translated_by: str
    review_status: ReviewStatus
    reviewed_by: str | None
    reviewed_on: date | None


@dataclass(frozen=True, slots=True)
class LanguageStatus:
    """What an admin needs to know about one language before sending in it."""

    tag: str
    name: str
    direction: Literal["ltr", "rtl"]
    review_status: ReviewStatus
    translated_by: str
    reviewed_by: str | None
    reviewed_on: date | None
    messages: int
    stale_messages: int


def source_hash(msgid: str) -> str:
    """The short fingerprint of a source text that a review comment records."""
    return hashlib.sha256(msgid.encode("utf-8")).hexdigest()[:12]


def po_path(language: str) -> Path:
    """The catalog file of a supported language."""
    return locales_dir() / CATALOG_DIRS[language] / "LC_MESSAGES" / "outreach.po"


def header_fields(po_text: str) -> dict[str, str]:
    """The `X-` fields of a PO header (Babel drops unknown header fields, so they are read here)."""
    header = po_text.split("\n\n", 1)[0]
    return {name: value.strip() for name, value in _FIELD_LINE.findall(header)}


def with_fields(po_bytes: bytes, fields: dict[str, str]) -> bytes:
    """A written PO file with the provenance fields put back into its header, in a fixed order."""
    head, sep, rest = po_bytes.decode("utf-8").partition("\n\n")
    lines = [line for line in head.split("\n") if not _FIELD_LINE.match(line)]
    lines += [f'"{name}: {fields.get(name, "")}\\n"' for name in FIELDS]
    return ("\n".join(lines) + sep + rest).encode("utf-8")


def problems(fields: dict[str, str]) -> list[str]:
    """What is missing or wrong in a catalog's provenance fields (empty when they are complete)."""
    found = [f"no {name} header" for name in FIELDS if name not in fields]
    if found:
        return found
    status = fields["X-Review-Status"]
    if status not in ("draft", "reviewed"):
        return [f"X-Review-Status is '{status}', not draft or reviewed"]
    if not fields["X-Translated-By"]:
        found.append("X-Translated-By is empty")
    if status == "reviewed":
        if not fields["X-Reviewed-By"]:
            found.append("a reviewed catalog needs X-Reviewed-By")
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", fields["X-Reviewed-On"]):
            found.append("a reviewed catalog needs X-Reviewed-On as YYYY-MM-DD")
    return found


def parse(fields: dict[str, str]) -> Provenance:
    """Typed provenance from header fields that `problems` found complete."""
    reviewed = fields.get("X-Review-Status") == "reviewed"
    on = fields.get("X-Reviewed-On", "")
    return Provenance(
        translated_by=fields.get("X-Translated-By", ""),
        review_status="reviewed" if reviewed else "draft",
        reviewed_by=(fields.get("X-Reviewed-By") or None) if reviewed else None,
        reviewed_on=date.fromisoformat(on) if reviewed and on else None,
    )


def stale_ids(catalog: Catalog, *, reviewed: bool) -> frozenset[str]:
    """Source texts whose translation is not what a reviewer read (only a reviewed catalog has any)."""
    if not reviewed:
        return frozenset()
    stale: set[str] = set()
    for message in catalog:
        if not message.id or not isinstance(message.id, str):
            continue
        comments = message.user_comments
        marks = [c.split(":", 1)[1].strip() for c in comments if c.startswith(REVIEWED)]
        changed = any(c.startswith(SOURCE_CHANGED) for c in comments)
        if message.fuzzy or changed or source_hash(message.id) not in marks:
            stale.add(message.id)
    return frozenset(stale)


@dataclass(frozen=True, slots=True)
class _Loaded:
    provenance: Provenance
    messages: int
    stale: frozenset[str]


@lru_cache(maxsize=128)
def _load(path: str, _mtime_ns: int) -> _Loaded:
    text = Path(path).read_text(encoding="utf-8")
    provenance = parse(header_fields(text))
    with Path(path).open("rb") as handle:
        catalog = read_po(handle)
    count = sum(1 for m in catalog if m.id)
    return _Loaded(provenance, count, stale_ids(catalog, reviewed=provenance.review_status == "reviewed"))


def _loaded(language: str) -> _Loaded | None:
    if language == "en":
        return None
    path = po_path(language)
    return _load(str(path), path.stat().st_mtime_ns)


def provenance(language: str) -> Provenance:
    """Who translated a language and whether it was reviewed (English is the source, always reviewed)."""
    loaded = _loaded(language)
    if loaded is None:
        return Provenance("source text", "reviewed", None, None)
    return loaded.provenance


def is_reviewed(language: str, source: str | None = None) -> bool:
    """Whether a native speaker reviewed this language (and, given a source text, that text's translation)."""
    loaded = _loaded(language)
    if loaded is None:
        return True
    if loaded.provenance.review_status != "reviewed":
        return False
    return source is None or source not in loaded.stale


@lru_cache(maxsize=128)
def display_name(language: str) -> str:
    """A language's English name ("so" → "Somali", "zh-Hant" → "Chinese (Traditional)")."""
    return str(Locale.parse(language, sep="-").get_display_name("en"))


def status(language: str) -> LanguageStatus:
    """The review status of one supported language."""
    loaded = _loaded(language)
    prov = provenance(language)
    return LanguageStatus(
        tag=language,
        name=display_name(language),
        direction="rtl" if language in RTL else "ltr",
        review_status=prov.review_status,
        translated_by=prov.translated_by,
        reviewed_by=prov.reviewed_by,
        reviewed_on=prov.reviewed_on,
        messages=loaded.messages if loaded else 0,
        stale_messages=len(loaded.stale) if loaded else 0,
    )


def all_statuses() -> list[LanguageStatus]:
    """Every supported language's status, in catalog order (English first)."""
    return [status(language) for language in CATALOG_DIRS]


def review_notice(language: str) -> str | None:
    """The line authoring pages and dry runs show for a language not fully reviewed, else None.

    "Somali: draft translation, not reviewed by a native speaker", or for a reviewed catalog whose
    source texts changed since: "Spanish: 2 texts changed since the native-speaker review on 2026-11-02".
    """
    current = status(language)
    if current.review_status == "draft":
        return f"{current.name}: draft translation, not reviewed by a native speaker"
    if current.stale_messages:
        texts = "text" if current.stale_messages == 1 else "texts"
        return (
            f"{current.name}: {current.stale_messages} {texts} changed since the native-speaker review "
            f"on {current.reviewed_on}"
        )
    return None
