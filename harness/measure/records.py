"""Measurement records and their statistics.

A measurement is made only by :func:`measurement` from raw values: the summary statistics are
always derived from the samples it keeps, never typed in. Warm-up values are stored apart and
never enter the statistics.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy.stats import binomtest

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20261125


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default, as pytest-benchmark and pandas use)."""
    return float(np.percentile(np.asarray(values, dtype=float), q))


def bootstrap_median_ci(values: Sequence[float], confidence: float = 0.95,
                        resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                        statistic=np.median) -> tuple[float, float]:
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


def summarize(values: Sequence[float]) -> dict:
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return {"n": 0}
    mean = float(data.mean())
    std = float(data.std(ddof=1)) if data.size > 1 else 0.0
    low, high = bootstrap_median_ci(data)
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
    if n == 0:
        return math.nan, math.nan
    ci = binomtest(successes, n).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def proportion(variant: str, suite: str, name: str, outcomes: Sequence[bool], **extra) -> dict:
    """A measurement of a share of successes: value = k/n with its Wilson 95 % interval.

    The outcomes are kept as 0/1 samples, so a reader sees which ones failed.
    """
    values = [1.0 if o else 0.0 for o in outcomes]
    k, n = int(sum(values)), len(values)
    low, high = wilson_interval(k, n)
    stats = {"n": n, "successes": k, "mean": k / n if n else math.nan, "wilson_ci95": [low, high]}
    return {
        "variant": variant, "suite": suite, "name": name, "unit": "fraction",
        "estimator": "proportion", "value": stats["mean"], "interval": [low, high], "stats": stats,
        "samples": values, "warmup_samples": [], "higher_is_better": True, **extra,
    }


def mcnemar_exact(reference: Sequence[bool], variant: Sequence[bool]) -> dict:
    """Exact (binomial) two-sided McNemar test of paired pass/fail outcomes on the same examples:
    only the discordant pairs count; p = P(a split at least this uneven | no real difference)."""
    if len(reference) != len(variant):
        raise ValueError(f"paired outcomes differ in length ({len(reference)} vs {len(variant)})")
    reference_only = sum(1 for r, v in zip(reference, variant) if r and not v)
    variant_only = sum(1 for r, v in zip(reference, variant) if v and not r)
    discordant = reference_only + variant_only
    p_value = 1.0 if discordant == 0 else float(binomtest(min(reference_only, variant_only), discordant, 0.5).pvalue)
    return {"n": len(reference), "reference_only": reference_only, "variant_only": variant_only,
            "p_value": min(p_value, 1.0)}


def estimate(variant: str, suite: str, name: str, unit: str, value: float, uncertainty: float | None, *,
             stats: dict | None = None, samples: Sequence[float] = (), higher_is_better: bool | None = None,
             bounds: tuple[float, float] | None = None, **extra) -> dict:
    """A computed statistic with its standard uncertainty (one standard error, as printed
    ``value ± uncertainty``); the interval is value ± 1.96 uncertainties, kept within ``bounds``
    (a share cannot pass 1)."""
    finite = uncertainty is not None and math.isfinite(uncertainty) and value is not None and math.isfinite(value)
    interval = [value - 1.96 * uncertainty, value + 1.96 * uncertainty] if finite else None
    if interval and bounds:
        interval = [max(interval[0], bounds[0]), min(interval[1], bounds[1])]
    return {
        "variant": variant, "suite": suite, "name": name, "unit": unit, "estimator": "estimate",
        "value": value, "interval": interval,
        "stats": {**(stats or {}), "value": value, "uncertainty": uncertainty},
        "samples": [float(v) for v in samples], "warmup_samples": [],
        "higher_is_better": higher_is_better, **extra,
    }


def measurement(variant: str, suite: str, name: str, unit: str, values: Sequence[float], *,
                warmup: Sequence[float] = (), higher_is_better: bool | None = None,
                estimator: str = "median", **extra) -> dict:
    """A measurement record: value = median (or mean) of ``values``, with statistics, a
    bootstrap 95 % interval for that estimator, and the raw samples."""
    stats = summarize(values)
    value, interval = stats.get("median"), stats.get("median_ci95")
    if estimator == "mean" and stats["n"]:
        value = stats["mean"]
        interval = list(bootstrap_median_ci(values, statistic=np.mean))
        stats["mean_ci95"] = interval
    return {
        "variant": variant,
        "suite": suite,
        "name": name,
        "unit": unit,
        "estimator": estimator,
        "value": value,
        "interval": interval,
        "stats": stats,
        "samples": [float(v) for v in values],
        "warmup_samples": [float(v) for v in warmup],
        "higher_is_better": higher_is_better,
        **extra,
    }


def fitted(variant: str, suite: str, name: str, unit: str, fit: dict, x: Sequence[float],
           y: Sequence[float], *, higher_is_better: bool | None = None, **extra) -> dict:
    """A measurement that is a fitted slope (:mod:`harness.measure.fits`): value = slope, interval = its
    95 % interval; the points it was fitted to are kept (``x`` and ``samples``)."""
    return {
        "variant": variant, "suite": suite, "name": name, "unit": unit, "estimator": "fit",
        "value": fit["slope"], "interval": list(fit["slope_ci95"]), "stats": {**fit, "n": fit["n"]},
        "samples": [float(v) for v in y], "x": [float(v) for v in x], "warmup_samples": [],
        "higher_is_better": higher_is_better, **extra,
    }
