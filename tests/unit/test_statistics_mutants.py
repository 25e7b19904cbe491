"""harness.measure.statistics: edge cases and exact figures that mutation testing found unpinned.

Every expected value is worked out by hand (or from the textbook formula) in the test."""

import math

import pytest

from harness.measure.statistics import bootstrap_median_ci, mcnemar_exact, summarize, wilson_interval

Z95 = 1.959963984540054  # two-sided 95 % normal quantile
Z90 = 1.6448536269514722  # two-sided 90 % normal quantile


def _wilson(k, n, z):
    """The Wilson score interval from its formula."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def test_summary_of_five_values_has_every_figure_by_hand():
    """Each key of the timing summary, with its value worked out by hand (numpy's linear percentiles)."""
    stats = summarize([1, 2, 3, 4, 10])
    std = math.sqrt(50 / 4)  # squared deviations from 4: 9 + 4 + 1 + 0 + 36
    interval = stats.pop("median_ci95")
    assert stats == pytest.approx(
        {
            "n": 5,
            "median": 3.0,
            "mean": 4.0,
            "std": std,
            "min": 1.0,
            "max": 10.0,
            "p90": 4 + 0.6 * 6,
            "p95": 4 + 0.8 * 6,
            "p99": 4 + 0.96 * 6,
            "cv": std / 4,
        }
    )
    assert list(stats) == ["n", "median", "mean", "std", "min", "max", "p90", "p95", "p99", "cv"]
    assert len(interval) == 2 and 1.0 <= interval[0] <= 3.0 <= interval[1] <= 10.0


def test_summary_of_nothing_is_a_count_of_zero():
    """No samples: only n = 0, no statistic computed from nothing."""
    assert summarize([]) == {"n": 0}


def test_summary_of_one_value_has_no_spread():
    """One sample: std 0 (not NaN), the value as median, min, max and both interval ends."""
    stats = summarize([5.0])
    assert stats["n"] == 1 and stats["std"] == 0.0 and stats["cv"] == 0.0
    assert stats["median"] == stats["min"] == stats["max"] == 5.0 and stats["median_ci95"] == [5.0, 5.0]


def test_summary_of_two_values_has_the_sample_std():
    """Two samples already give a sample standard deviation: |3 - 1| / sqrt(2)."""
    assert summarize([1.0, 3.0])["std"] == pytest.approx(math.sqrt(2))


def test_coefficient_of_variation_is_nan_for_a_zero_mean():
    """cv = std / mean is undefined (NaN), not a division error, when the mean is 0."""
    assert math.isnan(summarize([-1.0, 1.0])["cv"])


def test_bootstrap_of_fewer_than_two_values():
    """One value: the interval is that value; none: both ends NaN."""
    assert bootstrap_median_ci([7.5]) == (7.5, 7.5)
    low, high = bootstrap_median_ci([])
    assert math.isnan(low) and math.isnan(high)


def test_bootstrap_of_two_values_spans_both():
    """Two values are resampled too: medians 1, 2, 3 with chances 1/4, 1/2, 1/4, so the 95 % interval is [1, 3]."""
    assert bootstrap_median_ci([1.0, 3.0]) == (1.0, 3.0)


def test_bootstrap_resamples_the_first_value_too():
    """[9, 0, 0, 0, 0]: the median of a resample is 9 when 9 is drawn 3+ times of 5 (5.8 % > 2.5 %)."""
    assert bootstrap_median_ci([9.0, 0.0, 0.0, 0.0, 0.0]) == (0.0, 9.0)


def test_bootstrap_confidence_sets_the_tails():
    """[0, 1] at 40 %: the middle 40 % of resampled medians (0 w.p. 1/4, 0.5 w.p. 1/2, 1 w.p. 1/4) are all 0.5."""
    assert bootstrap_median_ci([0.0, 1.0], confidence=0.4) == (0.5, 0.5)
    assert bootstrap_median_ci([0.0, 1.0], confidence=0.95) == (0.0, 1.0)


def test_wilson_interval_of_one_success_in_one():
    """1/1 at 95 %: the Wilson formula gives [1 / (1 + z²), 1]."""
    low, high = wilson_interval(1, 1)
    assert low == pytest.approx(1 / (1 + Z95 * Z95), abs=1e-9) and high == pytest.approx(1.0)


def test_wilson_interval_of_nothing_is_undefined():
    """n = 0: both ends NaN."""
    assert all(math.isnan(x) for x in wilson_interval(0, 0))


def test_wilson_interval_follows_the_confidence():
    """8/10 at 90 %: the formula with z = 1.645, narrower than at 95 %."""
    assert wilson_interval(8, 10, confidence=0.9) == pytest.approx(_wilson(8, 10, Z90), abs=1e-9)
    assert wilson_interval(8, 10) == pytest.approx(_wilson(8, 10, Z95), abs=1e-9)


def test_mcnemar_counts_every_pair_and_names_a_length_mismatch():
    """n is the number of pairs; outcomes of different lengths are refused, naming both lengths."""
    result = mcnemar_exact([True, True, False], [True, False, False])
    assert result == {"n": 3, "reference_only": 1, "variant_only": 0, "p_value": 1.0}
    with pytest.raises(ValueError, match=r"paired outcomes differ in length \(3 vs 2\)"):
        mcnemar_exact([True, True, False], [True, False])
