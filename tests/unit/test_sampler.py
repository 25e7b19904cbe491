"""The stopping rule: measure until every figure's median is known to the profile's precision, or
the maximum is spent; and the intervals it stops on still cover the true median."""

import math

import numpy as np
import pytest
from scipy.stats import norm

from harness.measure.sampler import MAXIMUM, PRECISE, relative_half_width, sample, schedule
from harness.measure.statistics import bootstrap_median_ci, median_interval

RUNS = 1000


def test_the_looks_are_the_minimum_each_doubling_and_the_maximum():
    assert schedule(6, 24) == [6, 12, 24]
    assert schedule(6, 40) == [6, 12, 24, 40]
    assert schedule(8, 8) == [8]
    assert schedule(10, 4) == [4]  # a maximum below the minimum wins


def test_the_half_width_is_relative_to_the_median():
    # 8 values: the interval is the smallest and the largest (see test_metrics), 9 and 11 around 10
    assert relative_half_width([9.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 11.0]) == pytest.approx(0.1)
    assert relative_half_width([]) == math.inf
    assert relative_half_width([0.0] * 8) == math.inf


def test_a_steady_figure_stops_at_the_first_look_and_a_noisy_one_at_the_maximum():
    values = iter([100.0, 101.0, 99.0, 100.5, 99.5, 100.0] + [100.0] * 50)
    samples, stop = sample(lambda: next(values), {"x": float}, target=0.05, minimum=6, maximum=48)
    assert (stop.reason, stop.n, len(samples)) == (PRECISE, 6, 6)
    assert stop.widths["x"] == pytest.approx(0.01)  # (101 - 99) / 2 / 100
    rng = np.random.default_rng(0)
    samples, stop = sample(lambda: float(rng.uniform(1, 3)), {"x": float}, target=0.05, minimum=6, maximum=48)
    assert (stop.reason, stop.n, len(samples)) == (MAXIMUM, 48, 48)
    assert stop.to_record()["widths"]["x"] > 0.05


def test_every_figure_must_be_precise_and_samples_given_first_count():
    draws = iter(range(100))
    pairs, stop = sample(
        lambda: (100.0, float(next(draws))),
        {"steady": lambda p: p[0], "drifting": lambda p: p[1] + 1},
        target=0.05,
        minimum=4,
        maximum=16,
        first=[(100.0, 0.0)] * 2,
    )
    assert stop.reason == MAXIMUM and len(pairs) == 16 and stop.widths["steady"] == 0
    assert pairs[:2] == [(100.0, 0.0)] * 2  # kept, and only 14 more were drawn
    assert next(draws) == 14


# timings: log-normal around 100 ms with a 5 % spread (stops early in most runs); a wider spread (the
# runs stop at every look); a heavy tail: one request in ten pays a stall of 3x (the mixture's
# median is the 0.5 / 0.9 quantile of its 100-ms component)
SHAPES = {
    "lognormal": (lambda rng: 100 * math.exp(rng.normal(0, 0.05)), 100.0),
    "lognormal-wide": (lambda rng: 100 * math.exp(rng.normal(0, 0.12)), 100.0),
    "stalls": (
        lambda rng: (300.0 if rng.random() < 0.1 else 100.0) * math.exp(rng.normal(0, 0.05)),
        100 * math.exp(0.05 * norm.ppf(0.5 / 0.9)),
    ),
}


def coverage(name: str, interval=median_interval) -> tuple[float, dict[int, int]]:
    """The share of RUNS stopped runs whose ``interval`` covers the true median, and how many runs
    stopped at each count."""
    draw, median = SHAPES[name]
    rng = np.random.default_rng(20261207)
    covered, stops = 0, {}
    for _ in range(RUNS):
        samples, stop = sample(lambda: draw(rng), {"t": float}, target=0.05, minimum=6, maximum=48)
        low, high = interval(samples)
        covered += low <= median <= high
        stops[stop.n] = stops.get(stop.n, 0) + 1
    return covered / RUNS, stops


@pytest.mark.parametrize("name", SHAPES)
def test_the_interval_it_stops_on_covers_the_true_median_in_93_percent_of_runs(name):
    share, stops = coverage(name)
    assert share >= 0.93, (name, share, stops)
    assert len(stops) >= 2 or name == "lognormal", stops  # the rule stopped at different looks


if __name__ == "__main__":  # the figures of the CHANGELOG: python tests/unit/test_sampler.py
    for shape in SHAPES:
        share, stops = coverage(shape)
        print(
            f"{shape}: order statistics {share:.1%}, bootstrap {coverage(shape, bootstrap_median_ci)[0]:.1%}, "
            f"stops {dict(sorted(stops.items()))}"
        )
