"""The soak's and the overhead suite's verdicts, on series whose answers are known by hand."""

import pytest
from scipy import stats

from harness.measure import overhead
from harness.measure.soak import SLOWDOWN_TOLERANCE, leak_ruled_out, leak_verdict, runtime_leak_report, slowdown_verdict


def _linear(start: float, step: float, n: int = 21) -> list[float]:
    return [start + step * i for i in range(n)]


def test_a_steady_fall_of_decode_speed_beyond_the_tolerance_is_a_slowdown():
    # 100 -> 80 tokens/s over 21 iterations: every pairwise slope is -1, so the interval is [-1, -1];
    # median 90; the change over the soak is -1 x 20 / 90 = -22.2 %
    _, finding = slowdown_verdict("int4-cpu", "fresh", _linear(100, -1))
    assert finding["name"] == "no_slowdown_fresh" and finding["passed"] is False
    assert finding["value"] == pytest.approx(-20 / 90)
    assert finding["interval"] == pytest.approx([-20 / 90, -20 / 90])
    assert finding["threshold"] == -SLOWDOWN_TOLERANCE == -0.10
    assert finding["message"] == (
        "fresh: decode speed changes -22.2% over the soak [95 % -22.2%, -22.2%]; a slowdown beyond -10%"
    )


def test_a_small_fall_or_a_rise_of_decode_speed_is_within_the_tolerance():
    # -0.25 tokens/s per iteration: -5 / 97.5 = -5.1 % over the soak; a rise is never a slowdown
    _, small = slowdown_verdict("int4-cpu", "reused", _linear(100, -0.25))
    assert small["passed"] is True and small["value"] == pytest.approx(-5 / 97.5)
    assert small["message"].endswith("; within -10%")
    _, rise = slowdown_verdict("int4-cpu", "reused", _linear(80, 1))
    assert rise["passed"] is True and rise["value"] == pytest.approx(20 / 90)


def test_a_slowdown_is_judged_on_the_intervals_upper_bound_not_the_point():
    # a point change of -19 % whose interval reaches +37 %: not convicted (scipy's Theil-Sen
    # interval, taken directly, gives the expected bounds)
    series = [75, 74, 123, 72, 121, 120, 69, 68, 67, 66, 115, 64, 113, 112, 61, 110, 59, 108, 107, 106, 105]
    slope, _, low, high = stats.theilslopes(series, range(len(series)), alpha=0.95)
    level, span = 105, 20  # the median, and the iterations the soak spans
    _, finding = slowdown_verdict("int4-cpu", "fresh", series)
    assert finding["value"] == pytest.approx(slope * span / level) and finding["value"] < -SLOWDOWN_TOLERANCE
    assert finding["interval"] == pytest.approx([low * span / level, high * span / level])
    assert finding["interval"][1] > 0.3 and finding["passed"] is True


def test_a_leak_is_a_lower_bound_above_the_default_gates_threshold():
    from harness.gates.spec import threshold_gate

    mib = 2**20
    gate = threshold_gate([], "leak_kib_per_iter_fresh")  # the built-in no_leak: 16, lenient
    _, leak = leak_verdict("int4-cpu", "fresh", [100 * mib + 256 * 1024 * i for i in range(20)], gate)
    assert leak["passed"] is False and leak["value"] == pytest.approx(256) and leak["threshold"] == 16
    assert leak["interval"] == pytest.approx([256, 256])
    assert "a leak: the lower bound 256.0 misses gate 'no_leak' (leak_kib_per_iter_* <= 16)" in leak["message"]
    _, flat = leak_verdict("int4-cpu", "fresh", [100 * mib] * 20, gate)
    assert flat["passed"] is True and flat["value"] == 0
    _, shrink = leak_verdict("int4-cpu", "fresh", [100 * mib - 4096 * i for i in range(20)], gate)
    assert shrink["passed"] is True and shrink["value"] == pytest.approx(-4)
    # a noisy series: the slope above 16, its lower bound not; the lenient default passes it
    noisy = [100 * mib + (24 * 1024 * i if i % 2 else 0) for i in range(20)]
    _, unsure = leak_verdict("int4-cpu", "fresh", noisy, gate)
    assert unsure["interval"][0] <= 16 < unsure["value"] and unsure["passed"] is True


def test_an_early_look_only_ever_clears_a_leak_never_concludes_one():
    from harness.gates.spec import threshold_gate

    kib = 1024
    gate = threshold_gate([], "leak_kib_per_iter_fresh")  # 16 KiB/iteration
    flat = [100 * 2**20 + (kib if i % 3 else 0) for i in range(30)]
    assert leak_ruled_out(flat, gate)
    # an allocator growing 40 KiB a request for 30 requests, then level: at 30 the interval lies
    # wholly above 16, yet the soak must not stop there; the whole series of 120 clears it
    warming = [100 * 2**20 + 40 * kib * min(i, 30) for i in range(120)]
    assert leak_verdict("fp32-cpu", "fresh", warming[:30], gate)[1]["interval"][0] > 16
    assert not leak_ruled_out(warming[:30], gate)
    assert leak_verdict("fp32-cpu", "fresh", warming, gate)[1]["passed"] is True


def test_the_runtime_leak_report_finds_onnxruntime_genai_lines_and_nothing_else():
    # the line as onnxruntime-genai 0.14.1 prints it at exit (seen in a worker whose og.Model was
    # never released; tests/e2e/test_suites_e2e.py plants that leak and reads the real line)
    stderr = (
        "some warning\nOGA Error: 1 instances of N10Generators5ModelE were leaked.\n"
        "    Please see the documentation for the API being used to ensure proper cleanup.\n"
        "OGA Error: 12 instances of N10Generators9GeneratorE were leaked.\n"
    )
    assert runtime_leak_report(stderr) == [
        "OGA Error: 1 instances of N10Generators5ModelE were leaked",
        "OGA Error: 12 instances of N10Generators9GeneratorE were leaked",
    ]
    assert runtime_leak_report("OGA Error: model load failed\n") == []
    assert runtime_leak_report("") == []


def _pairs(decode_ratios, ttft_ratios):
    return [{"decode_ratio": d, "ttft_ratio": t} for d, t in zip(decode_ratios, ttft_ratios)]


def _around(centre, spread, n=20):
    return [centre + spread * ((i % 5) - 2) / 2 for i in range(n)]  # centre ± spread, symmetric


@pytest.mark.parametrize(
    "decode, ttft, decode_outcome, ttft_outcome",
    [
        (_around(1.00, 0.005), _around(1.00, 0.005), "met", "met"),
        (_around(0.90, 0.005), _around(1.10, 0.005), "missed", "missed"),  # slower decode, later first token
        (_around(0.98, 0.15), _around(1.00, 0.15), "unresolved", "unresolved"),  # noise wider than the target
        (_around(1.10, 0.005), _around(0.90, 0.005), "met", "missed"),  # faster decode meets ≥; TTFT 10 % off
    ],
)
def test_the_overhead_verdicts_pass_only_when_the_interval_shows_the_target(decode, ttft, decode_outcome, ttft_outcome):
    found = {v["name"]: v for v in overhead.verdicts("int4-cpu", _pairs(decode, ttft))}
    for name, ratios, outcome in (
        ("overhead_decode_ratio", decode, decode_outcome),
        ("overhead_ttft_ratio", ttft, ttft_outcome),
    ):
        low, high = found[name]["ci95"]
        assert low <= found[name]["value"] == sorted(ratios)[len(ratios) // 2] <= high
        assert found[name]["outcome"] == outcome
        assert found[name]["passed"] is (outcome == "met")
        assert f"median of {len(ratios)} pairs" in found[name]["message"]
    assert found["overhead_decode_ratio"]["threshold"] == 0.98


def test_overhead_pairs_stop_once_decided_and_not_before(monkeypatch):
    monkeypatch.setattr(overhead, "SETTLE_S", 0)
    steady = overhead.measure(lambda: (0.010, 100.0), lambda: (0.010, 100.0), max_pairs=60)
    assert len(steady) == overhead.FIRST_LOOK  # equal sides: decided at the first look
    speeds = iter([80.0, 120.0] * 100)  # the harness side swings ±20 %: never decided
    noisy = overhead.measure(lambda: (0.010, next(speeds)), lambda: (0.010, 100.0), max_pairs=25)
    assert len(noisy) == 25
    assert overhead.decode_outcome(noisy)[0] == "unresolved"


def test_overhead_looks_come_at_each_doubling_and_at_the_maximum():
    assert overhead.looks(320) == [10, 20, 40, 80, 160, 320]
    assert overhead.looks(60) == [10, 20, 40, 60]
    assert overhead.looks(10) == [10]
    assert overhead.looks(4) == [4]


def test_overhead_pairs_alternate_which_side_goes_first(monkeypatch):
    monkeypatch.setattr(overhead, "SETTLE_S", 0)
    calls = []

    def side(name, ttft, tps):
        def run():
            calls.append(name)
            return ttft, tps

        return run

    pairs = overhead.alternate(side("harness", 0.011, 99.0), side("bare", 0.010, 100.0), 4)
    assert calls == ["harness", "bare", "bare", "harness", "harness", "bare", "bare", "harness"]
    assert [p["first"] for p in pairs] == ["harness", "bare", "harness", "bare"]
    assert all(p["decode_ratio"] == pytest.approx(0.99) and p["ttft_ratio"] == pytest.approx(1.1) for p in pairs)


def test_the_median_interval_is_the_order_statistics_that_cover_95_percent():
    from harness.measure.statistics import median_interval

    assert median_interval(list(range(1, 11))) == (2.0, 9.0)  # n = 10: P(Bin(10, 1/2) <= 1) = 0.011
    assert median_interval(list(range(20, 0, -1))) == (6.0, 15.0)  # n = 20: P(Bin(20, 1/2) <= 5) = 0.021
    assert median_interval([3.0, 1.0, 2.0]) == (1.0, 3.0)  # too few for 95 %: the whole range
    assert median_interval([0.5] * 12) == (0.5, 0.5)


def test_the_report_tells_an_unresolved_overhead_verdict_from_a_missed_one():
    from harness.report.sections import _verdict_cell

    noisy = _pairs([0.98 + 0.15 * ((i % 5) - 2) / 2 for i in range(20)], [1.0] * 20)
    slower = _pairs([0.90] * 20, [1.0] * 20)
    cells = {
        name: _verdict_cell(overhead.verdicts("int4-cpu", pairs)[0])
        for name, pairs in (("noisy", noisy), ("slower", slower), ("same", _pairs([1.0] * 20, [1.0] * 20)))
    }
    assert cells == {"noisy": "**FAIL** (unresolved)", "slower": "**FAIL**", "same": "pass"}
