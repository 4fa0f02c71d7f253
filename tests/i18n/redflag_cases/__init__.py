"""The documented red-flag test sets: per language, phrasings that must fire and look-alikes that must not.

One `<catalog folder>.toml` per language with `fire = [...]` and `quiet = [...]`; `python -m bench triage`
prints recall and false-positive rate over all of them, and `tests/i18n/test_redflags.py` holds each
language to the targets. Some languages also have `unseen_fire` / `unseen_quiet`: phrasings written after
the phrase tables and never used to tune them, reported apart as an honest estimate of how the tables
do on text nobody tuned them for (not held to a target).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from outreach.i18n.languages import CATALOG_DIRS

HERE = Path(__file__).parent


@dataclass(frozen=True, slots=True)
class CaseSet:
    """One language's phrasings that must be found urgent and look-alikes that must not."""

    language: str
    fire: tuple[str, ...]
    quiet: tuple[str, ...]
    unseen_fire: tuple[str, ...] = ()
    unseen_quiet: tuple[str, ...] = ()


def load() -> list[CaseSet]:
    """Every language's test set, in catalog order."""
    sets = []
    for language, folder in CATALOG_DIRS.items():
        path = HERE / f"{folder}.toml"
        data = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        sets.append(
            CaseSet(
                language,
                fire=tuple(data.get("fire", [])),
                quiet=tuple(data.get("quiet", [])),
                unseen_fire=tuple(data.get("unseen_fire", [])),
                unseen_quiet=tuple(data.get("unseen_quiet", [])),
            )
        )
    return sets
