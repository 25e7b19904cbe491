"""Soak verdicts: does memory grow, or speed fall, over many requests? Pure functions.

Leak: the Theil–Sen slope of the worker's RSS per iteration (KiB/iteration) with its 95 %
interval; a leak is a *lower bound* above the threshold, so noise alone never convicts.
Slowdown: the Theil–Sen slope of decode tokens/s per iteration, expressed as the change over the
whole soak relative to the median; a slowdown is an *upper bound* below minus the tolerance.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence

from harness.measure.fits import theil_sen
from harness.measure.records import Measurement, Threshold, Verdict, fitted, verdict

SLOWDOWN_TOLERANCE = 0.10  # a drop of decode speed over the soak larger than this is flagged
OGA_LEAK = re.compile(r"OGA Error: \d+ instances of .+? were leaked")


def _leak_fit(rss_bytes: Sequence[int]) -> tuple[list[float], list[int], dict]:
    kib = [b / 1024 for b in rss_bytes]
    iterations = list(range(len(kib)))
    return kib, iterations, theil_sen(kib, iterations)


def leak_ruled_out(rss_bytes: Sequence[int], gate: Threshold) -> bool:
    """Whether the series already clears ``gate``: the RSS slope's whole 95 % interval lies at or
    below its threshold. The soak may stop there. The other side is never concluded early: a leak
    fails a release, and an allocator's growth over the first requests can look like one until the
    series is long enough to show it levels off."""
    return _leak_fit(rss_bytes)[2]["slope_ci95"][1] <= gate.k


def leak_verdict(
    variant: str, mode: str, rss_bytes: Sequence[int], gate: Threshold, **extra
) -> tuple[Measurement, Verdict]:
    """(measurement, verdict) for one soak mode's RSS series (after warm-up iterations), judged by
    the rule and threshold of ``gate`` (:func:`harness.gates.spec.threshold_gate`); ``extra``
    goes into the measurement (why the series ended: ``stopped``)."""
    kib, iterations, fit = _leak_fit(rss_bytes)
    record = fitted(
        variant,
        "soak",
        f"leak_kib_per_iter_{mode}",
        "KiB/iteration",
        fit,
        iterations,
        kib,
        higher_is_better=False,
        mode=mode,
        **extra,
    )
    low, high = fit["slope_ci95"]
    passed, used, side = gate.decide(fit["slope"], [low, high], gate.k)
    finding = verdict(
        variant,
        "soak",
        f"no_leak_{mode}",
        passed,
        value=fit["slope"],
        interval=[low, high],
        threshold=gate.k,
        message=f"{mode}: RSS grows {fit['slope']:.1f} KiB/iteration [95 % {low:.1f}, {high:.1f}] over "
        f"{len(kib)} iterations; "
        + (
            f"within gate '{gate.name}' ({gate.check})"
            if passed
            else f"a leak: the {side} {used:.1f} misses gate '{gate.name}' ({gate.check})"
        ),
    )
    return record, finding


def slowdown_verdict(variant: str, mode: str, decode_tps: Sequence[float]) -> tuple[Measurement, Verdict]:
    iterations = list(range(len(decode_tps)))
    fit = theil_sen(decode_tps, iterations)
    record = fitted(
        variant,
        "soak",
        f"decode_tps_trend_{mode}",
        "tokens/s per iteration",
        fit,
        iterations,
        decode_tps,
        higher_is_better=True,
        mode=mode,
    )
    level = statistics.median(decode_tps)
    span = len(decode_tps) - 1
    change = fit["slope"] * span / level
    worst_best = [v * span / level for v in fit["slope_ci95"]]
    slowing = worst_best[1] < -SLOWDOWN_TOLERANCE
    finding = verdict(
        variant,
        "soak",
        f"no_slowdown_{mode}",
        not slowing,
        value=change,
        interval=worst_best,
        threshold=-SLOWDOWN_TOLERANCE,
        message=f"{mode}: decode speed changes {change:+.1%} over the soak [95 % {worst_best[0]:+.1%}, "
        f"{worst_best[1]:+.1%}]; {'a slowdown beyond' if slowing else 'within'} "
        f"-{SLOWDOWN_TOLERANCE:.0%}",
    )
    return record, finding


def runtime_leak_report(stderr: str) -> list[str]:
    """onnxruntime-genai's own leak lines, printed at process exit."""
    return OGA_LEAK.findall(stderr)
