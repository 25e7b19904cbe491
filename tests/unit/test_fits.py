import numpy as np
import pytest

from harness.measure.fits import linear_fit, theil_sen


def test_linear_fit_recovers_a_known_line():
    x = np.arange(10, dtype=float)
    fit = linear_fit(x, 3.0 + 0.5 * x)
    assert fit["slope"] == pytest.approx(0.5) and fit["intercept"] == pytest.approx(3.0)
    assert fit["r2"] == pytest.approx(1.0)
    assert fit["slope_ci95"][0] == pytest.approx(0.5) and fit["slope_ci95"][1] == pytest.approx(0.5)


def test_linear_fit_interval_covers_the_true_slope_under_noise():
    rng = np.random.default_rng(0)
    x = np.linspace(0, 1000, 40)
    fit = linear_fit(x, 20 + 0.02 * x + rng.normal(0, 1, x.size))
    assert fit["slope_ci95"][0] < 0.02 < fit["slope_ci95"][1]


def test_linear_fit_refuses_too_few_points():
    with pytest.raises(ValueError):
        linear_fit([1, 1, 1], [1, 2, 3])


def test_theil_sen_ignores_outliers():
    y = [100.0 + 2.0 * i for i in range(30)]
    y[5] = 10_000.0
    y[20] = -5_000.0
    fit = theil_sen(y)
    assert fit["slope"] == pytest.approx(2.0)
    assert fit["slope_ci95"][0] <= 2.0 <= fit["slope_ci95"][1]


def test_theil_sen_of_flat_noise_has_an_interval_around_zero():
    rng = np.random.default_rng(3)
    fit = theil_sen(rng.normal(500, 5, 60))
    assert fit["slope_ci95"][0] < 0 < fit["slope_ci95"][1]
