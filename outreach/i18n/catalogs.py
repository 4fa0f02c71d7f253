"""Catalog upkeep: extract → update → compile, and a check that the committed catalogs are current.

`python -m outreach.i18n.catalogs` after changing a text; `--compile-only` builds the .mo files (the
install and run commands do this); `--check` fails when a catalog is stale against the source, needs
re-translation (`fuzzy`) or lacks its provenance header (see `outreach.i18n.provenance`);
`--mark-reviewed LANG --by NAME --on YYYY-MM-DD` records a native speaker's review of a catalog.

A source text that changes keeps its old translation marked `fuzzy` (never sent: the compiled catalog
leaves fuzzy texts out) with a `# source-changed: <date> (was <hash of the old source>)` comment, so the
translator sees what to redo and a reviewed catalog shows the text as changed since its review. (Babel
reads `#|` previous-msgid lines back as plain comments, so the old text is not kept that way.)
"""

from __future__ import annotations

import argparse
import io
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from outreach.i18n import provenance as prov
from outreach.i18n.languages import CATALOG_DIRS, locales_dir

PACKAGE = Path(__file__).resolve().parents[1]
_METHOD_MAP = [("**.py", "python")]
# Fixed header dates keep regenerated catalogs byte-identical when no text changed.
FIXED_DATE = datetime(2026, 1, 1, tzinfo=UTC)
_KEYWORDS = {"N_": None, "_": None, "gettext": None, "ngettext": (1, 2)}


def extract() -> Catalog:
    """Every marked text in the package, in a stable order."""
    catalog = Catalog(project="outreach", version="1", charset="utf-8", fuzzy=False)
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(PACKAGE), method_map=_METHOD_MAP, keywords=_KEYWORDS
    ):
        catalog.add(message, flags=("python-brace-format",))
    return catalog


def _dump(catalog: Catalog, fields: dict[str, str] | None = None) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, omit_header=False, no_location=True, sort_output=True, width=100)
    return out.getvalue() if fields is None else prov.with_fields(out.getvalue(), fields)


def _po_path(folder: str) -> Path:
    return locales_dir() / folder / "LC_MESSAGES" / "outreach.po"


def stale() -> list[str]:
    """Why the committed catalogs do not match the source (empty when they do)."""
    problems: list[str] = []
    source = {m.id for m in extract() if m.id}
    pot = locales_dir() / "outreach.pot"
    if not pot.exists() or {m.id for m in read_po(pot.open("rb")) if m.id} != source:
        problems.append("locales/outreach.pot differs from the texts in the code")
    for language, folder in CATALOG_DIRS.items():
        if language == "en":
            continue
        path = _po_path(folder)
        if not path.exists():
            problems.append(f"{path} is missing")
            continue
        catalog = read_po(path.open("rb"))
        ids = {m.id for m in catalog if m.id}
        if ids != source:
            problems.append(f"{path}: {len(source - ids)} missing, {len(ids - source)} obsolete")
        fuzzy = sum(1 for m in catalog if m.id and m.fuzzy)
        if fuzzy:
            problems.append(f"{path}: {fuzzy} texts changed in the source and need translating again (fuzzy)")
        problems += [f"{path}: {p}" for p in prov.problems(prov.header_fields(path.read_text("utf-8")))]
    return problems


def update() -> None:
    """Write the .pot and merge it into every .po (new texts appear untranslated, old ones go)."""
    today = datetime.now(UTC).date()
    template = extract()
    template.creation_date = template.revision_date = FIXED_DATE
    (locales_dir() / "outreach.pot").write_bytes(_dump(template))
    for language, folder in CATALOG_DIRS.items():
        path = _po_path(folder)
        if language == "en" or not path.exists():
            continue
        fields = prov.header_fields(path.read_text(encoding="utf-8"))
        catalog = read_po(path.open("rb"), locale=folder.replace("-", "_"))
        catalog.update(template)
        _mark_source_changes(catalog, today)
        catalog.obsolete.clear()
        catalog.creation_date = catalog.revision_date = FIXED_DATE
        path.write_bytes(_dump(catalog, fields))


def _mark_source_changes(catalog: Catalog, today: date) -> None:
    """Date the texts whose source changed in this update (Babel kept the old translation as fuzzy)."""
    for message in catalog:
        dated = any(c.startswith(prov.SOURCE_CHANGED) for c in message.user_comments)
        if message.id and message.fuzzy and message.previous_id and not dated:
            was = prov.source_hash(str(message.previous_id[0]))
            message.user_comments.append(f"{prov.SOURCE_CHANGED} {today.isoformat()} (was {was})")


def mark_reviewed(language: str, *, by: str, on: date) -> int:
    """Record a native speaker's review of a whole catalog; return how many texts it covers."""
    path = prov.po_path(language)
    fields = prov.header_fields(path.read_text(encoding="utf-8"))
    catalog = read_po(path.open("rb"), locale=CATALOG_DIRS[language].replace("-", "_"))
    count = 0
    for message in catalog:
        if not message.id or not isinstance(message.id, str):
            continue
        if message.fuzzy:
            raise ValueError(f"{language}: translate the fuzzy text {message.id[:40]!r} before a review")
        kept = [c for c in message.user_comments if not c.startswith((prov.REVIEWED, prov.SOURCE_CHANGED))]
        message.user_comments = [*kept, f"{prov.REVIEWED} {prov.source_hash(message.id)}"]
        count += 1
    fields.update({"X-Review-Status": "reviewed", "X-Reviewed-By": by, "X-Reviewed-On": on.isoformat()})
    path.write_bytes(_dump(catalog, fields))
    return count


def compile_all() -> int:
    """Build the .mo files; return how many catalogs were compiled."""
    count = 0
    for language, folder in CATALOG_DIRS.items():
        path = _po_path(folder)
        if language == "en" or not path.exists():
            continue
        catalog = read_po(path.open("rb"))
        with path.with_suffix(".mo").open("wb") as mo:
            write_mo(mo, catalog)
        count += 1
    return count


def main(argv: list[str]) -> int:
    """Command line: update and compile, compile only, or check."""
    parser = argparse.ArgumentParser(prog="python -m outreach.i18n.catalogs")
    parser.add_argument("--check", action="store_true", help="fail when catalogs are stale")
    parser.add_argument("--compile-only", action="store_true", help="only build .mo files")
    parser.add_argument("--mark-reviewed", metavar="LANG", help="record a native speaker's review")
    parser.add_argument("--by", help="the reviewer's name (with --mark-reviewed)")
    parser.add_argument("--on", type=date.fromisoformat, help="the review date, YYYY-MM-DD")
    args = parser.parse_args(argv)
    if args.mark_reviewed:
        if args.mark_reviewed not in CATALOG_DIRS or not args.by or args.on is None:
            parser.error("--mark-reviewed needs a supported language, --by and --on")
        count = mark_reviewed(args.mark_reviewed, by=args.by, on=args.on)
        print(f"{args.mark_reviewed}: {count} texts reviewed")
        return 0
    if args.check:
        problems = stale()
        for problem in problems:
            print(f"stale catalog: {problem}", file=sys.stderr)
        return 1 if problems else 0
    if not args.compile_only:
        update()
    print(f"compiled {compile_all()} catalogs in {locales_dir()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
