"""Fitted trends: linear cost models (input-length sweeps) and robust slopes (soak drift).

Both return plain dicts ready for ``results.json``; intervals are 95 %.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def linear_fit(x: Sequence[float], y: Sequence[float]) -> dict:
    """Least-squares line y = intercept + slope * x, with the slope's 95 % interval and R²."""
    from scipy import stats  # scipy.stats takes a second to import: only when a fit is made

    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if xs.size < 3 or np.ptp(xs) == 0:
        raise ValueError("a linear fit needs at least three points at two or more x values")
    result = stats.linregress(xs, ys)
    t = stats.t.ppf(0.975, xs.size - 2)
    return {
        "slope": float(result.slope),
        "intercept": float(result.intercept),
        "slope_ci95": [float(result.slope - t * result.stderr), float(result.slope + t * result.stderr)],
        "r2": float(result.rvalue**2),
        "n": int(xs.size),
    }


def theil_sen(y: Sequence[float], x: Sequence[float] | None = None) -> dict:
    """Theil–Sen slope of y against x (default: 0, 1, 2, ...), robust to outliers, with its
    95 % interval (Sen's method, as scipy computes it)."""
    from scipy import stats

    ys = np.asarray(y, dtype=float)
    xs = np.arange(ys.size, dtype=float) if x is None else np.asarray(x, dtype=float)
    if ys.size < 3:
        raise ValueError("a Theil–Sen slope needs at least three points")
    slope, intercept, low, high = stats.theilslopes(ys, xs, alpha=0.95)
    return {
        "slope": float(slope),
        "intercept": float(intercept),
        "slope_ci95": [float(low), float(high)],
        "n": int(ys.size),
    }
