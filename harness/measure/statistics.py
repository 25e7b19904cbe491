"""Statistics of measured values: percentiles, the seeded bootstrap interval of a median and its
distribution-free (order-statistic) interval, the summary every timing carries, the Wilson
interval of a share and McNemar's exact paired test."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20261125


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default, as pytest-benchmark and pandas use)."""
    return float(np.percentile(np.asarray(values, dtype=float), q))


def bootstrap_median_ci(
    values: Sequence[float],
    confidence: float = 0.95,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    statistic=np.median,
) -> tuple[float, float]:
    """Percentile-bootstrap interval for the median (or another ``statistic``; seeded: same
    samples, same interval)."""
    data = np.asarray(values, dtype=float)
    if data.size < 2:
        value = float(data[0]) if data.size else math.nan
        return value, value
    rng = np.random.default_rng(seed)
    estimates = statistic(data[rng.integers(0, data.size, size=(resamples, data.size))], axis=1)
    alpha = (1 - confidence) / 2
    return float(np.quantile(estimates, alpha)), float(np.quantile(estimates, 1 - alpha))


def median_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Distribution-free interval for the median from order statistics: the k-th smallest and
    k-th largest values, k the largest rank with P(Binomial(n, 1/2) < k) <= (1 - confidence) / 2.
    It covers at least ``confidence`` whatever the distribution (a bootstrap of a median from a
    few heavy-tailed samples covers less); with too few values for that, the whole range."""
    from scipy.stats import binom  # scipy.stats takes a second to import: only when a figure needs it

    data = np.sort(np.asarray(values, dtype=float))
    if data.size == 0:
        return math.nan, math.nan
    ranks = int(np.sum(binom.cdf(np.arange(data.size), data.size, 0.5) <= (1 - confidence) / 2))
    k = max(ranks - 1, 0)  # 0-based: the (k + 1)-th smallest and largest
    return float(data[k]), float(data[data.size - 1 - k])


def summarize(values: Sequence[float]) -> dict:
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return {"n": 0}
    mean = float(data.mean())
    std = float(data.std(ddof=1)) if data.size > 1 else 0.0
    low, high = median_interval(data)
    return {
        "n": int(data.size),
        "median": float(np.median(data)),
        "mean": mean,
        "std": std,
        "min": float(data.min()),
        "max": float(data.max()),
        "p90": percentile(data, 90),
        "p95": percentile(data, 95),
        "p99": percentile(data, 99),
        "cv": std / mean if mean else math.nan,
        "median_ci95": [low, high],
    }


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion (sound at 0 % and 100 %, unlike the normal one)."""
    from scipy.stats import binomtest

    if n == 0:
        return math.nan, math.nan
    ci = binomtest(successes, n).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def mcnemar_exact(reference: Sequence[bool], variant: Sequence[bool]) -> dict:
    """Exact (binomial) two-sided McNemar test of paired pass/fail outcomes on the same examples:
    only the discordant pairs count; p = P(a split at least this uneven | no real difference)."""
    from scipy.stats import binomtest

    if len(reference) != len(variant):
        raise ValueError(f"paired outcomes differ in length ({len(reference)} vs {len(variant)})")
    reference_only = sum(1 for r, v in zip(reference, variant) if r and not v)
    variant_only = sum(1 for r, v in zip(reference, variant) if v and not r)
    discordant = reference_only + variant_only
    p_value = 1.0 if discordant == 0 else float(binomtest(min(reference_only, variant_only), discordant, 0.5).pvalue)
    return {
        "n": len(reference),
        "reference_only": reference_only,
        "variant_only": variant_only,
        "p_value": min(p_value, 1.0),
    }
