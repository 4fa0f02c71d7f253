"""Red-flag matching: recall and false positives over the documented test sets, and its speed.

The raw baseline, measured in the same run, is what matching was before: the folded text searched for
each folded phrase as a plain substring. `unseen_*` figures come from phrasings written after the tables
and never used to tune them (see tests/i18n/redflag_cases).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import replace

from outreach.i18n import find_urgent
from outreach.i18n.folding import normalize
from outreach.i18n.keywords import table
from tests.i18n.redflag_cases import CaseSet, load

Matcher = Callable[[str, str], bool]


def _raw(text: str, language: str) -> bool:
    said = normalize(text)
    names = [language] if language != "en" else []
    return any(p and p in said for name in [*names, "en"] for p in table(name).urgent_phrases)


def _matched(text: str, language: str) -> bool:
    return find_urgent(text, language=language) is not None


def _score(sets: list[CaseSet], matcher: Matcher) -> tuple[float, float, list[str]]:
    fired = missed = false = quiet = 0
    misses: list[str] = []
    for case in sets:
        for text in case.fire:
            hit = matcher(text, case.language)
            fired += hit
            missed += not hit
            if not hit:
                misses.append(f"{case.language} missed: {text}")
        for text in case.quiet:
            hit = matcher(text, case.language)
            false += hit
            quiet += 1
            if hit:
                misses.append(f"{case.language} false alarm: {text}")
    return fired / max(1, fired + missed), false / max(1, quiet), misses


def _rate(sets: list[CaseSet], matcher: Matcher, rounds: int) -> float:
    work = [(text, case.language) for case in sets for text in (*case.fire, *case.quiet)]
    started = time.perf_counter()
    for i in range(rounds):
        for text, language in work:
            matcher(f"{text} {i}", language)  # a new text each round: no cached answer
    return len(work) * rounds / (time.perf_counter() - started)


def _scan_rate(sets: list[CaseSet], matcher: Matcher, rounds: int) -> float:
    """Messages per second checked against every language, as the inbox does for an unknown sender."""
    languages = [case.language for case in sets]
    work = [text for case in sets for text in case.quiet[:5]]
    started = time.perf_counter()
    for i in range(rounds):
        for text in work:
            said = f"{text} {i}"
            any(matcher(said, language) for language in languages)
    return len(work) * rounds / (time.perf_counter() - started)


def main(argv: list[str]) -> dict[str, object]:
    """Score both matchers on every language's set and time them."""
    parser = argparse.ArgumentParser(prog="python -m bench triage")
    parser.add_argument("--rounds", type=int, default=5, help="timing passes over the whole set")
    parser.add_argument("--show", action="store_true", help="print every miss and false alarm to stderr")
    args = parser.parse_args(argv)
    sets = load()
    recall, false_rate, misses = _score(sets, _matched)
    raw_recall, raw_false, _ = _score(sets, _raw)
    unseen = [replace(s, fire=s.unseen_fire, quiet=s.unseen_quiet) for s in sets if s.unseen_fire]
    unseen_recall, unseen_false, unseen_misses = _score(unseen, _matched)
    misses += [f"(unseen) {m}" for m in unseen_misses]
    if args.show:
        print("\n".join(misses), file=sys.stderr)
    rate, raw = _rate(sets, _matched, args.rounds), _rate(sets, _raw, args.rounds)
    scan, raw_scan = _scan_rate(sets, _matched, args.rounds), _scan_rate(sets, _raw, args.rounds)
    return {
        "bench": "triage",
        "languages": sum(1 for s in sets if s.fire),
        "phrasings": sum(len(s.fire) for s in sets),
        "look_alikes": sum(len(s.quiet) for s in sets),
        "recall": round(recall, 4),
        "false_positive_rate": round(false_rate, 4),
        "raw_recall": round(raw_recall, 4),
        "raw_false_positive_rate": round(raw_false, 4),
        "unseen_languages": len(unseen),
        "unseen_phrasings": sum(len(s.fire) for s in unseen),
        "unseen_recall": round(unseen_recall, 4),
        "unseen_false_positive_rate": round(unseen_false, 4),
        "messages_per_s": round(rate),
        "raw_messages_per_s": round(raw),
        "ratio_vs_raw": round(rate / raw, 3),
        "all_languages_scans_per_s": round(scan),
        "raw_all_languages_scans_per_s": round(raw_scan),
    }
