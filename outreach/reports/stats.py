"""The outcome report's statistics: pure functions over counts, checked against published values.

- Wilson score interval (Wilson 1927; Newcombe, Statistics in Medicine 17:857, 1998, "method 3"):
  for k successes of n, with p = k/n and z = 1.959964 (95%),
  centre = (p + z²/2n) / (1 + z²/n), half-width = z·√(p(1−p)/n + z²/4n²) / (1 + z²/n).
  Unlike p ± z·√(p(1−p)/n) it stays inside [0, 1] and is honest for small n and rates near 0 or 1.
- Two-proportion z-test with the pooled proportion (e.g. Agresti, Categorical Data Analysis, §3.1.4):
  P = (k1+k2)/(n1+n2), z = (p1−p2) / √(P(1−P)(1/n1+1/n2)), two-sided p = erfc(|z|/√2).
- Disparity flag: among groups whose denominator is at least `min_group_size` and not suppressed, the
  best-served group is the one with the highest rate; another such group is flagged when it trails that
  rate by at least `threshold_pp` percentage points **and** the two-proportion test gives p < `alpha`.
- Small-cell suppression (CMS cell-size suppression policy): a count from 1 to 10 is shown as "<11".
  Complementary suppression: where cells add up to a total that is shown, one suppressed cell could be
  worked out by subtraction, so the smallest other non-zero cell is suppressed as well.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

Z95 = 1.959963984540054  # the 97.5th percentile of the standard normal distribution
SMALL_CELL = 11  # counts below this (and above 0) are never shown


@dataclass(frozen=True, slots=True)
class Interval:
    """A proportion's confidence interval, as fractions of 1."""

    low: float
    high: float


def wilson(k: int, n: int, *, z: float = Z95) -> Interval | None:
    """The Wilson score interval for k successes in n trials; None when n is 0."""
    if n <= 0:
        return None
    if not 0 <= k <= n:
        raise ValueError(f"successes {k} must lie between 0 and the trials {n}")
    p = k / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True, slots=True)
class ZTest:
    """A two-proportion z-test: the statistic and its two-sided p-value."""

    z: float
    p_value: float


def two_proportion_z(k1: int, n1: int, k2: int, n2: int) -> ZTest:
    """Pooled two-proportion z-test of k1/n1 against k2/n2 (z > 0 when the first rate is higher)."""
    if n1 <= 0 or n2 <= 0:
        raise ValueError("both groups need at least one trial")
    pooled = (k1 + k2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance == 0:  # both rates 0 or both 1: no difference to test
        return ZTest(0.0, 1.0)
    z = (k1 / n1 - k2 / n2) / math.sqrt(variance)
    return ZTest(z, math.erfc(abs(z) / math.sqrt(2)))


@dataclass(frozen=True, slots=True)
class FlagRule:
    """The disparity rule's settings, shown on every report."""

    threshold_pp: float = 10.0
    min_group_size: int = 30
    alpha: float = 0.05


@dataclass(frozen=True, slots=True)
class Flag:
    """Why a group is flagged: the group it trails, by how much, and the test's p-value."""

    reference: str
    gap_pp: float
    p_value: float


def disparity_flags(
    rates: Mapping[str, tuple[int, int]], rule: FlagRule, *, suppressed: frozenset[str] = frozenset()
) -> dict[str, Flag]:
    """Flags for groups (key → (numerator, denominator)) that trail the best-served group (see module)."""
    eligible = {
        key: (k, n) for key, (k, n) in rates.items() if n >= rule.min_group_size and key not in suppressed
    }
    if len(eligible) < 2:
        return {}
    best = max(eligible, key=lambda key: (eligible[key][0] / eligible[key][1], eligible[key][1]))
    bk, bn = eligible[best]
    flags: dict[str, Flag] = {}
    for key, (k, n) in eligible.items():
        if key == best:
            continue
        # Rounded to 1e-9 pp so that 0.6 - 0.5 counts as exactly 10 points, as a reader would count it.
        gap = round((bk / bn - k / n) * 100, 9)
        if gap < rule.threshold_pp:
            continue
        test = two_proportion_z(bk, bn, k, n)
        if test.p_value < rule.alpha:
            flags[key] = Flag(reference=best, gap_pp=gap, p_value=test.p_value)
    return flags


class Suppressed(StrEnum):
    """Why a count is not shown."""

    SMALL_CELL = "small_cell"  # 1 to 10: shown as "<11"
    COMPLEMENTARY = "complementary"  # shown as "suppressed": it would reveal a small cell by subtraction


def is_small(count: int) -> bool:
    """A count that must not be shown (1 to 10; zero is shown)."""
    return 0 < count < SMALL_CELL


def suppress_cells(
    counts: Sequence[int], *, already: Sequence[Suppressed | None] | None = None
) -> list[Suppressed | None]:
    """Suppression marks for cells that add up to a shown total (see the module for the rule).

    `already` carries marks the cells got from another total they belong to, so that the rule holds for
    every total a cell is part of.
    """
    marks: list[Suppressed | None] = list(already) if already is not None else [None] * len(counts)
    for i, count in enumerate(counts):
        if marks[i] is None and is_small(count):
            marks[i] = Suppressed.SMALL_CELL
    hidden = [i for i, mark in enumerate(marks) if mark is not None]
    if len(hidden) == 1:
        shown = [i for i, mark in enumerate(marks) if mark is None and counts[i] > 0]
        if shown:
            smallest = min(shown, key=lambda i: (counts[i], i))
            marks[smallest] = Suppressed.COMPLEMENTARY
    return marks


def percentile(sorted_values: Sequence[float], fraction: float) -> float | None:
    """The percentile by linear interpolation between closest ranks (PostgreSQL's percentile_cont)."""
    if not sorted_values:
        return None
    position = fraction * (len(sorted_values) - 1)
    below = math.floor(position)
    above = min(below + 1, len(sorted_values) - 1)
    weight = position - below
    return sorted_values[below] + (sorted_values[above] - sorted_values[below]) * weight
