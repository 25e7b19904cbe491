import math

import numpy as np
import pytest

from harness.measure.records import measurement
from harness.measure.statistics import bootstrap_median_ci, percentile, summarize


def test_percentiles_interpolate_linearly():
    values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert percentile(values, 50) == 5.5
    assert percentile(values, 90) == pytest.approx(9.1)
    assert percentile(values, 99) == pytest.approx(9.91)


def test_summary_of_known_values():
    stats = summarize([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0])
    assert stats["n"] == 8
    assert stats["median"] == 4.5
    assert stats["mean"] == 5.0
    assert stats["std"] == pytest.approx(math.sqrt(32 / 7))
    assert stats["cv"] == pytest.approx(math.sqrt(32 / 7) / 5)
    # n = 8: P(Binomial(8, 1/2) <= 0) = 0.0039 <= 0.025 < P(<= 1) = 0.035, so the interval is
    # from the smallest to the largest value
    assert stats["median_ci95"] == [2.0, 9.0]
    sixteen = summarize(list(range(1, 17)))  # n = 16: P(<= 3) = 0.0106 <= 0.025 < P(<= 4) = 0.038
    assert sixteen["median_ci95"] == [4.0, 13.0]


def test_bootstrap_interval_is_seeded_and_covers_the_median():
    rng = np.random.default_rng(1)
    values = rng.normal(10, 1, size=200)
    first = bootstrap_median_ci(values)
    assert first == bootstrap_median_ci(values)
    assert first[0] < np.median(values) < first[1]
    assert first[1] - first[0] < 0.6  # about 2.5 standard errors of a median of 200 N(10, 1) samples


def test_measurement_keeps_raw_samples_and_warmups_apart():
    record = measurement("int4-cpu", "latency", "ttft", "ms", [3.0, 1.0, 2.0], warmup=[50.0])
    assert record["value"] == 2.0
    assert record["samples"] == [3.0, 1.0, 2.0]
    assert record["warmup_samples"] == [50.0]
    assert record["stats"]["max"] == 3.0  # the warm-up never enters the statistics


def test_proportion_is_the_share_with_a_wilson_interval():
    from harness.measure.records import proportion

    record = proportion("int4-cpu", "smoke", "exact", [True] * 48 + [False] * 2)
    assert record["value"] == 0.96 and record["stats"]["successes"] == 48
    low, high = record["interval"]
    # Wilson 95 % for 48/50 (Newcombe 1998, method 3): 0.8654 to 0.9890
    assert abs(low - 0.8654) < 1e-3 and abs(high - 0.9890) < 1e-3
    perfect = proportion("v", "s", "exact", [True] * 10)
    assert perfect["interval"][1] == 1.0 and perfect["interval"][0] < 0.75


def test_wilson_interval_by_hand():
    from harness.measure.statistics import wilson_interval

    # 8/10, z = 1.959964: centre (0.8 + z²/20) / (1 + z²/10) = 0.71674,
    # half-width z·sqrt(0.8·0.2/10 + z²/400) / (1 + z²/10) = 0.22657
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.71674 - 0.22657, abs=1e-4)
    assert high == pytest.approx(0.71674 + 0.22657, abs=1e-4)


@pytest.mark.parametrize(
    "reference_only, variant_only, p_value",
    [
        (1, 6, 2 * (1 + 7) / 2**7),  # two-sided exact binomial on the 7 discordant pairs
        (0, 5, 2 / 2**5),
        (3, 3, 1.0),
        (0, 0, 1.0),  # no discordant pair: no evidence of a difference
    ],
)
def test_mcnemar_exact_by_hand(reference_only, variant_only, p_value):
    from harness.measure.statistics import mcnemar_exact

    both = [True] * 10
    reference = both + [True] * reference_only + [False] * variant_only + [False] * 4
    variant = both + [False] * reference_only + [True] * variant_only + [False] * 4
    result = mcnemar_exact(reference, variant)
    assert result["reference_only"] == reference_only and result["variant_only"] == variant_only
    assert result["p_value"] == pytest.approx(p_value)


def test_estimate_interval_is_value_plus_minus_two_standard_errors():
    from harness.measure.records import estimate

    record = estimate("int4-cpu", "quality", "kld_mean", "nats/token", 0.02, 0.005)
    assert record["interval"] == pytest.approx([0.02 - 1.96 * 0.005, 0.02 + 1.96 * 0.005])
    assert record["stats"]["uncertainty"] == 0.005
    assert estimate("v", "s", "n", "u", 1.0, None)["interval"] is None


def test_records_are_immutable_and_serialize_to_what_they_read_as():
    from dataclasses import FrozenInstanceError

    from harness.measure.records import verdict

    record = measurement("int4-cpu", "latency", "ttft_ms", "ms", [3.0, 1.0, 2.0], warmup=[9.0])
    assert record.to_dict() == dict(record) and record["value"] == 2.0 and record["warmup_samples"] == [9.0]
    assert record["higher_is_better"] is False  # the registry's direction for ttft_ms
    with pytest.raises(FrozenInstanceError):
        record.value = 1.0
    finding = verdict("int4-cpu", "soak", "no_leak_fresh", 0, "within", value=1.5)
    assert finding.to_dict() == {
        "variant": "int4-cpu",
        "suite": "soak",
        "name": "no_leak_fresh",
        "passed": False,
        "message": "within",
        "value": 1.5,
    }


def test_a_registered_metric_keeps_its_unit_and_direction():
    with pytest.raises(ValueError, match=r"^ttft_ms: recorded in 's' .*registered in 'ms'"):
        measurement("int4-cpu", "latency", "ttft_ms", "s", [0.1])
    with pytest.raises(ValueError, match="registered in 'tokens/s' \\(True\\)"):
        measurement("int4-cpu", "latency", "decode_tps", "tokens/s", [10.0], higher_is_better=False)
