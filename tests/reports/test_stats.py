"""The report's statistics against published and hand-computed values."""

from __future__ import annotations

import pytest

from outreach.reports.stats import (
    FlagRule,
    Suppressed,
    disparity_flags,
    percentile,
    suppress_cells,
    two_proportion_z,
    wilson,
)

S, C = Suppressed.SMALL_CELL, Suppressed.COMPLEMENTARY


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        # Newcombe (1998), Statistics in Medicine 17:857, Table I, method 3 (Wilson score).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
        # By hand: p = 0.5, n = 10 → centre 0.5, half = 1.96·√(0.025 + 0.009604) / 1.38415 = 0.2634.
        (5, 10, 0.2366, 0.7634),
        # All successes mirror none: 20/20 → (1 − 0.1611, 1).
        (20, 20, 0.8389, 1.0),
    ],
)
def test_wilson_matches_published_values(k: int, n: int, low: float, high: float) -> None:
    interval = wilson(k, n)
    assert interval is not None
    assert interval.low == pytest.approx(low, abs=5e-5)
    assert interval.high == pytest.approx(high, abs=5e-5)


def test_wilson_of_no_trials_is_none_and_bad_counts_are_refused() -> None:
    assert wilson(0, 0) is None
    with pytest.raises(ValueError, match="between 0"):
        wilson(5, 4)


def test_two_proportion_z_by_hand() -> None:
    # 56/70 = 0.8 against 48/80 = 0.6; pooled P = 104/150 = 0.693333;
    # SE = √(0.693333 · 0.306667 · (1/70 + 1/80)) = √0.0056952 = 0.075467; z = 0.2 / 0.075467 = 2.6502;
    # two-sided p = erfc(2.6502/√2) = 0.00804.
    test = two_proportion_z(56, 70, 48, 80)
    assert test.z == pytest.approx(2.6502, abs=1e-4)
    assert test.p_value == pytest.approx(0.00804, abs=1e-5)
    assert two_proportion_z(48, 80, 56, 70).z == pytest.approx(-2.6502, abs=1e-4)


def test_identical_extreme_rates_are_no_difference() -> None:
    assert two_proportion_z(0, 50, 0, 60).p_value == 1.0
    assert two_proportion_z(50, 50, 60, 60).p_value == 1.0


RULE = FlagRule(threshold_pp=10.0, min_group_size=30, alpha=0.05)


def test_a_gap_of_exactly_the_threshold_that_is_significant_is_flagged() -> None:
    # 600/1000 vs 500/1000: 10.0 points; z = 0.1 / √(0.55·0.45·0.002) = 4.494, p ≈ 7e-6.
    flags = disparity_flags({"en": (600, 1000), "es": (500, 1000)}, RULE)
    assert list(flags) == ["es"]
    assert flags["es"].reference == "en"
    assert flags["es"].gap_pp == pytest.approx(10.0)
    assert flags["es"].p_value < 1e-5


def test_a_gap_just_under_the_threshold_is_not_flagged_however_significant() -> None:
    # 6000/10000 vs 5010/10000: 9.9 points, p < 1e-40.
    assert disparity_flags({"en": (6000, 10000), "es": (5010, 10000)}, RULE) == {}


def test_a_large_gap_that_is_not_significant_is_not_flagged() -> None:
    # 24/40 = 60% vs 18/40 = 45%: 15 points, but z = 0.15/√(0.525·0.475·0.05) = 1.3430, p = 0.179.
    assert disparity_flags({"en": (24, 40), "es": (18, 40)}, RULE) == {}
    # The same rates on 400 each: z = 4.247, p = 2e-5: flagged.
    assert list(disparity_flags({"en": (240, 400), "es": (180, 400)}, RULE)) == ["es"]


def test_p_value_just_either_side_of_alpha() -> None:
    # 60/100 vs 46/100: 14 points, z = 0.14/√(0.53·0.47·0.02) = 1.9835, p = 0.0473 < 0.05: flagged.
    assert list(disparity_flags({"en": (60, 100), "es": (46, 100)}, RULE)) == ["es"]
    # 60/100 vs 47/100: 13 points, z = 1.8436, p = 0.0652: not flagged.
    assert disparity_flags({"en": (60, 100), "es": (47, 100)}, RULE) == {}


def test_groups_under_the_minimum_size_are_neither_best_nor_flagged() -> None:
    rates = {"en": (600, 1000), "es": (400, 1000), "so": (29, 29), "vi": (0, 30)}
    flags = disparity_flags(rates, RULE)
    # so (100% of 29) is too small to be the reference: en is; vi at the minimum size is flagged.
    assert sorted(flags) == ["es", "vi"]
    assert {f.reference for f in flags.values()} == {"en"}
    assert disparity_flags(rates, FlagRule(min_group_size=31)) == {"es": flags["es"]}


def test_suppressed_groups_are_never_flagged_and_settings_change_the_outcome() -> None:
    rates = {"en": (600, 1000), "es": (400, 1000)}
    assert disparity_flags(rates, RULE, suppressed=frozenset({"es"})) == {}
    assert disparity_flags(rates, FlagRule(threshold_pp=25.0)) == {}
    assert list(disparity_flags(rates, FlagRule(threshold_pp=20.0))) == ["es"]


def test_small_cells_are_suppressed_and_zero_is_shown() -> None:
    assert suppress_cells([0, 11, 120]) == [None, None, None]
    assert suppress_cells([1, 10, 11, 50]) == [S, S, None, None]


def test_a_lone_small_cell_takes_the_smallest_other_cell_with_it() -> None:
    # Total 7 + 40 + 25 = 72 shown: 7 alone hidden would be 72 − 40 − 25; so 25 goes too.
    assert suppress_cells([7, 40, 25]) == [S, None, C]
    # Zero cells are not a complement (0 reveals nothing and hides nothing).
    assert suppress_cells([7, 0, 40]) == [S, None, C]


def test_marks_from_another_total_carry_over() -> None:
    # A cell hidden for another total counts as hidden here: two are hidden, no complement needed.
    assert suppress_cells([30, 40, 7], already=[C, None, None]) == [C, None, S]


def test_percentile_interpolates_like_percentile_cont() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 10.0]
    assert percentile(values, 0.5) == 3.0
    # p90: position 0.9 · 4 = 3.6 → 4 + 0.6 · (10 − 4) = 7.6
    assert percentile(values, 0.9) == pytest.approx(7.6)
    assert percentile([], 0.5) is None
    assert percentile([5.0], 0.9) == 5.0
