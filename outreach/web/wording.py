"""Counts said in words on the campaign pages: plural forms, reasons, fallbacks grouped by language."""

from __future__ import annotations

from collections import defaultdict

from outreach.web.display import language_name

EXCLUSIONS = {
    "consent_revoked": "opted out",
    "consent_unknown": "never agreed to texts",
    "undeliverable": "their number cannot get texts",
}


def plural(n: int, one: str, many: str | None = None) -> str:
    """ "1 text", "3 texts"."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def left_out(excluded: dict[str, int]) -> str:
    """ "6 left out: 4 opted out, 2 never agreed to texts" (or "none left out")."""
    total = sum(excluded.values())
    if not total:
        return "none left out"
    parts = [f"{n} {EXCLUSIONS.get(reason, reason.replace('_', ' '))}" for reason, n in excluded.items() if n]
    return f"{total} left out: {', '.join(parts)}"


def fallback_groups(fallbacks: dict[str, int]) -> list[str]:
    """One line per language used: "4 texts in English for patients who read Ukrainian (3) or Somali (1)"."""
    by_target: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for pair, n in fallbacks.items():
        wanted, _, used = pair.partition("->")
        by_target[used].append((wanted, n))
    lines = []
    for used, sources in sorted(by_target.items(), key=lambda item: -sum(n for _, n in item[1])):
        total = sum(n for _, n in sources)
        named = " or ".join(f"{language_name(tag)} ({n})" for tag, n in sorted(sources, key=lambda s: -s[1]))
        lines.append(f"{plural(total, 'text')} in {language_name(used)} for patients who read {named}")
    return lines
