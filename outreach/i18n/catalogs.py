"""Catalog upkeep: extract → update → compile, and a check that the committed catalogs are current.

`python -m outreach.i18n.catalogs` after changing a text; `--compile-only` builds the .mo files (the
install and run commands do this); `--check` fails when a catalog is stale against the source.
"""

from __future__ import annotations

import argparse
import io
import sys
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

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


def _dump(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, omit_header=False, no_location=True, sort_output=True, width=100)
    return out.getvalue()


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
        ids = {m.id for m in read_po(path.open("rb")) if m.id}
        if ids != source:
            problems.append(f"{path}: {len(source - ids)} missing, {len(ids - source)} obsolete")
    return problems


def update() -> None:
    """Write the .pot and merge it into every .po (new texts appear untranslated, old ones go)."""
    template = extract()
    template.creation_date = template.revision_date = FIXED_DATE
    (locales_dir() / "outreach.pot").write_bytes(_dump(template))
    for language, folder in CATALOG_DIRS.items():
        path = _po_path(folder)
        if language == "en" or not path.exists():
            continue
        catalog = read_po(path.open("rb"), locale=folder.replace("-", "_"))
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        catalog.creation_date = catalog.revision_date = FIXED_DATE
        path.write_bytes(_dump(catalog))


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
    args = parser.parse_args(argv)
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
