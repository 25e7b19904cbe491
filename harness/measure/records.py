"""Measurements and verdicts as typed, immutable records, each made by one constructor and
serialized in one place (:meth:`Measurement.to_dict`, :meth:`Verdict.to_dict`: what results.json holds).

A measurement is made only from raw values: the summary statistics are always derived from the
samples it keeps, never typed in. Warm-up values are stored apart and never enter the statistics.
Where the metric is registered (:mod:`harness.measure.metrics`), its unit and direction must be the
registry's. Both records read like the dicts they serialize to (``record["value"]``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from harness.measure.metrics import lookup
from harness.measure.statistics import bootstrap_median_ci, summarize, wilson_interval

ESTIMATORS = ("median", "mean", "proportion", "estimate", "fit")
REGISTERED = object()  # a constructor's default direction: the metric registry's (None if unregistered)


def _direction(name: str, given) -> bool | None:
    if given is not REGISTERED:
        return given
    metric = lookup(name)
    return metric.higher_is_better if metric else None


class _ReadsLikeItsDict(Mapping):
    def to_dict(self) -> dict:  # pragma: no cover - defined by each record
        raise NotImplementedError

    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())

    def __len__(self) -> int:
        return len(self.to_dict())


@dataclass(frozen=True, eq=False)
class Measurement(_ReadsLikeItsDict):
    variant: str
    suite: str
    name: str
    unit: str
    estimator: str
    value: float | None
    interval: list | None
    stats: dict
    samples: list
    warmup_samples: list
    higher_is_better: bool | None
    extra: dict = field(default_factory=dict)  # what this kind of measurement adds (x, prompt_tokens, ...)

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> Measurement:
        """The record again from its dictionary (a results.json's: its unit is the one it was measured in)."""
        known = {k: record.get(k) for k in MEASUREMENT_FIELDS}
        return cls(
            **{
                **known,
                "stats": known["stats"] or {},
                "samples": known["samples"] or [],
                "warmup_samples": known["warmup_samples"] or [],
                "estimator": known["estimator"] or "estimate",
            },
            extra={k: v for k, v in record.items() if k not in MEASUREMENT_FIELDS},
        )

    def to_dict(self) -> dict:
        return {
            "variant": self.variant,
            "suite": self.suite,
            "name": self.name,
            "unit": self.unit,
            "estimator": self.estimator,
            "value": self.value,
            "interval": self.interval,
            "stats": self.stats,
            "samples": self.samples,
            "warmup_samples": self.warmup_samples,
            "higher_is_better": self.higher_is_better,
            **self.extra,
        }


MEASUREMENT_FIELDS = (
    "variant",
    "suite",
    "name",
    "unit",
    "estimator",
    "value",
    "interval",
    "stats",
    "samples",
    "warmup_samples",
    "higher_is_better",
)


def _registered(record: Measurement) -> Measurement:
    """``record``, checked as it is made: a known estimator, and a registered metric's unit and
    direction the registry's."""
    if record.estimator not in ESTIMATORS:
        raise ValueError(f"{record.name}: unknown estimator {record.estimator!r}")
    metric = lookup(record.name)
    if metric is not None and (metric.unit, metric.higher_is_better) != (record.unit, record.higher_is_better):
        raise ValueError(
            f"{record.name}: recorded in {record.unit!r} (higher is better: {record.higher_is_better}), "
            f"registered in {metric.unit!r} ({metric.higher_is_better})"
        )
    return record


@dataclass(frozen=True, eq=False)
class Verdict(_ReadsLikeItsDict):
    variant: str
    suite: str
    name: str
    passed: bool
    message: str = ""
    extra: dict = field(default_factory=dict)  # the figures it was decided on (value, threshold, ...)

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> Verdict:
        own = ("variant", "suite", "name", "passed", "message")
        return cls(
            record["variant"],
            record.get("suite", ""),
            record["name"],
            bool(record.get("passed")),
            record.get("message", ""),
            {k: v for k, v in record.items() if k not in own},
        )

    def with_details(self, **details) -> Verdict:
        """The same verdict with more of the figures it was decided on."""
        return replace(self, extra={**self.extra, **details})

    def to_dict(self) -> dict:
        return {
            "variant": self.variant,
            "suite": self.suite,
            "name": self.name,
            "passed": bool(self.passed),
            "message": self.message,
            **self.extra,
        }


class Threshold(Protocol):
    """What a suite's verdict needs of the release gate whose threshold it applies (a
    :class:`harness.gates.spec.Gate`): its name, its check as written, its threshold and its rule."""

    name: str
    check: str
    k: float

    def decide(self, value: float, interval: list | None, threshold: float) -> tuple[bool, float, str]: ...


def verdict(variant: str, suite: str, name: str, passed: bool, message: str = "", **extra) -> Verdict:
    """A pass/fail finding of a suite, with the figures it was decided on."""
    return Verdict(variant, suite, name, bool(passed), message, extra)


def proportion(variant: str, suite: str, name: str, outcomes: Sequence[bool], **extra) -> Measurement:
    """A measurement of a share of successes: value = k/n with its Wilson 95 % interval.

    The outcomes are kept as 0/1 samples, so a reader sees which ones failed.
    """
    values = [1.0 if o else 0.0 for o in outcomes]
    k, n = int(sum(values)), len(values)
    low, high = wilson_interval(k, n)
    stats = {"n": n, "successes": k, "mean": k / n if n else math.nan, "wilson_ci95": [low, high]}
    return _registered(
        Measurement(
            variant, suite, name, "fraction", "proportion", stats["mean"], [low, high], stats, values, [], True, extra
        )
    )


def estimate(
    variant: str,
    suite: str,
    name: str,
    unit: str,
    value: float,
    uncertainty: float | None,
    *,
    stats: dict | None = None,
    samples: Sequence[float] = (),
    higher_is_better: bool | object | None = REGISTERED,
    bounds: tuple[float, float] | None = None,
    **extra,
) -> Measurement:
    """A computed statistic with its standard uncertainty (one standard error, as printed
    ``value ± uncertainty``); the interval is value ± 1.96 uncertainties, kept within ``bounds``
    (a share cannot pass 1)."""
    finite = uncertainty is not None and math.isfinite(uncertainty) and value is not None and math.isfinite(value)
    interval = [value - 1.96 * uncertainty, value + 1.96 * uncertainty] if finite else None
    if interval and bounds:
        interval = [max(interval[0], bounds[0]), min(interval[1], bounds[1])]
    return _registered(
        Measurement(
            variant,
            suite,
            name,
            unit,
            "estimate",
            value,
            interval,
            {**(stats or {}), "value": value, "uncertainty": uncertainty},
            [float(v) for v in samples],
            [],
            _direction(name, higher_is_better),
            extra,
        )
    )


def measurement(
    variant: str,
    suite: str,
    name: str,
    unit: str,
    values: Sequence[float],
    *,
    warmup: Sequence[float] = (),
    higher_is_better: bool | object | None = REGISTERED,
    estimator: str = "median",
    **extra,
) -> Measurement:
    """A measurement record: value = median (or mean) of ``values``, with statistics, a
    95 % interval for that estimator (the median's from order statistics, the mean's by bootstrap),
    and the raw samples."""
    stats = summarize(values)
    value, interval = stats.get("median"), stats.get("median_ci95")
    if estimator == "mean" and stats["n"]:
        value = stats["mean"]
        interval = list(bootstrap_median_ci(values, statistic=np.mean))
        stats["mean_ci95"] = interval
    return _registered(
        Measurement(
            variant,
            suite,
            name,
            unit,
            estimator,
            value,
            interval,
            stats,
            [float(v) for v in values],
            [float(v) for v in warmup],
            _direction(name, higher_is_better),
            extra,
        )
    )


def fitted(
    variant: str,
    suite: str,
    name: str,
    unit: str,
    fit: dict,
    x: Sequence[float],
    y: Sequence[float],
    *,
    higher_is_better: bool | object | None = REGISTERED,
    **extra,
) -> Measurement:
    """A measurement that is a fitted slope (:mod:`harness.measure.fits`): value = slope, interval = its
    95 % interval; the points it was fitted to are kept (``x`` and ``samples``)."""
    return _registered(
        Measurement(
            variant,
            suite,
            name,
            unit,
            "fit",
            fit["slope"],
            list(fit["slope_ci95"]),
            {**fit, "n": fit["n"]},
            [float(v) for v in y],
            [],
            _direction(name, higher_is_better),
            {"x": [float(v) for v in x], **extra},
        )
    )
