"""Measure until the question is answered: repeated requests, looked at each time their count
doubles, until every figure's 95 % interval for its median is as narrow as the profile asks, or
the profile's maximum is spent.

The interval is the distribution-free one from order statistics
(:func:`harness.measure.statistics.median_interval`), the one the records report; its width is
judged relative to the median (``relative half-width = (high - low) / 2 / |median|``). Looking
only at ``minimum``, ``2 × minimum``, ... and the maximum keeps the looks few, so stopping at the
first narrow one costs little coverage: ``tests/unit/test_sampler.py`` checks in simulation that
the interval at the stop still covers the true median at least 93 % of the time.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from harness.measure.statistics import median_interval

PRECISE, MAXIMUM = "precise", "maximum"
T = TypeVar("T")


def schedule(minimum: int, maximum: int) -> list[int]:
    """The counts at which the figures are looked at: ``minimum``, each doubling, and ``maximum``."""
    counts = [max(1, min(minimum, maximum))]
    while counts[-1] * 2 < maximum:
        counts.append(counts[-1] * 2)
    return counts + ([maximum] if counts[-1] < maximum else [])


def relative_half_width(values: Sequence[float]) -> float:
    """Half the width of the median's 95 % interval over the median's size (inf when undefined)."""
    low, high = median_interval(values)
    middle = statistics.median(values) if values else math.nan
    if not values or not math.isfinite(low) or not math.isfinite(high) or middle == 0:
        return math.inf
    return (high - low) / 2 / abs(middle)


@dataclass(frozen=True)
class Stop:
    """Why sampling stopped: ``precise`` (every figure within ``target``) or ``maximum``."""

    reason: str
    n: int
    target: float
    widths: Mapping[str, float]  # each figure's relative half-width at the stop

    def to_record(self) -> dict:
        return {
            "reason": self.reason,
            "n": self.n,
            "target": self.target,
            "widths": {k: (round(v, 4) if math.isfinite(v) else None) for k, v in self.widths.items()},
        }


def sample(
    draw: Callable[[], T],
    figures: Mapping[str, Callable[[T], float]],
    *,
    target: float,
    minimum: int,
    maximum: int,
    first: Sequence[T] = (),
) -> tuple[list[T], Stop]:
    """Samples of ``draw()`` (after those already in ``first``) until each of ``figures`` (a
    number from one sample) has a relative half-width of at most ``target`` at a look of
    :func:`schedule`, or ``maximum`` samples; and why it stopped."""
    samples = list(first)
    widths: dict[str, float] = {}
    for count in schedule(minimum, maximum):
        samples += [draw() for _ in range(count - len(samples))]
        widths = {name: relative_half_width([figure(s) for s in samples]) for name, figure in figures.items()}
        if all(width <= target for width in widths.values()):
            return samples, Stop(PRECISE, len(samples), target, widths)
    return samples, Stop(MAXIMUM, len(samples), target, widths)
