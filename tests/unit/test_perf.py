"""The performance suites' arithmetic, on traces with known timings (the fake session)."""

import math

import pytest

from harness.measure.bandwidth import machine_bandwidth
from harness.measure.perf import (
    bandwidth_efficiency,
    domain_token_ids,
    kv_cache_bytes,
    latency_records,
    length_records,
    sweep_lengths,
    timed_rounds,
)
from harness.measure.trace import GenerationTrace
from harness.runtime.fake import FakeSession
from harness.runtime.protocol import SessionSpec


def trace(prompt_tokens, times, tokenize_s=0.001):
    return GenerationTrace(
        prompt_tokens=prompt_tokens,
        tokens=tuple(range(1, len(times) + 1)),
        text="x",
        token_times=tuple(times),
        tokenize_s=tokenize_s,
        finish_reason="length",
    )


def test_latency_metrics_follow_the_published_definitions():
    # P = 100, N = 5: t1 = 10 ms, then 2 ms per token -> tN = 18 ms
    t = trace(100, [0.010, 0.012, 0.014, 0.016, 0.018])
    warm = trace(100, [0.020, 0.030, 0.040, 0.050, 0.060])
    records = {r["name"]: r for r in latency_records("int4-cpu", "latency", [warm], [t, t])}
    assert records["ttft_ms"]["value"] == pytest.approx(10.0)
    assert records["prefill_tps"]["value"] == pytest.approx(100 / 0.010)
    assert records["tpot_ms"]["value"] == pytest.approx(2.0)
    assert records["decode_tps"]["value"] == pytest.approx(4 / 0.008)
    assert records["e2e_ms"]["value"] == pytest.approx(18.0)
    assert records["tokenize_ms"]["value"] == pytest.approx(1.0)
    # ITL pools the 4 gaps of each of the 2 measured requests; the warm-up's gaps stay apart
    assert records["itl_ms"]["samples"] == pytest.approx([2.0] * 8)
    assert records["itl_ms"]["warmup_samples"] == pytest.approx([10.0] * 4)
    assert records["ttft_ms"]["warmup_samples"] == pytest.approx([20.0])
    assert all(r["variant"] == "int4-cpu" and r["suite"] == "latency" for r in records.values())


def _gate(name, check):
    from harness.gates.spec import parse_gate

    return parse_gate(name, check, "t")


def test_sweep_lengths_span_short_to_the_room_under_the_limit():
    assert sweep_lengths(1024, 16, (0.0, 0.33, 0.66, 1.0)) == [16, 333, 665, 1008]
    assert sweep_lengths(64, 16, (0.0, 1.0)) == [16, 48]
    with pytest.raises(ValueError, match="no room"):
        sweep_lengths(20, 16, (0.0, 1.0))


def test_length_fit_recovers_a_known_cost_model():
    fake = FakeSession(SessionSpec(model_dir="fake", fake=True, max_length=4096))
    points = []
    for n in (16, 200, 400, 800):
        first, *again = fake.generate_again([1 + i % 200 for i in range(n)], 8, 3)
        points.append((n, [first], again))
    records, verdict = length_records("fp32-cpu", points, _gate("steady", "decode_tps_longest_vs_shortest >= 0.9"))
    by_name = {r["name"]: r for r in records}
    # the fake prefills at 0.1 ms per prompt token and decodes at a constant 2 ms per token
    assert by_name["prefill_ms_per_token"]["value"] == pytest.approx(FakeSession.PREFILL_S_PER_TOKEN * 1e3)
    assert by_name["decode_tpot_ms_per_1k_context"]["value"] == pytest.approx(0.0, abs=1e-9)
    assert by_name["ttft_ms@800"]["value"] == pytest.approx(80.0) and by_name["ttft_ms@800"]["stats"]["n"] == 1
    assert by_name["decode_tps@800"]["stats"]["n"] == 3 and by_name["decode_tps@800"]["decoded_again"] == 2
    assert by_name["decode_tps@800"]["decoded_again_differ"] == 0
    assert verdict["passed"] and verdict["value"] == pytest.approx(1.0)
    assert by_name["decode_tps_longest_vs_shortest"]["value"] == pytest.approx(1.0)


def test_length_verdict_fails_when_decode_slows_down():
    fast = [trace(16, [0.001 + 0.001 * k for k in range(9)])] * 3
    slow = [trace(900, [0.05 + 0.004 * k for k in range(9)])] * 3
    gate = _gate("steady", "decode_tps_longest_vs_shortest >= 0.5")
    records, verdict = length_records("int4-cpu", [(16, fast[:1], fast[1:]), (900, slow[:1], slow[1:])], gate)
    assert not verdict["passed"]
    assert verdict["value"] == pytest.approx(0.25) and verdict["threshold"] == 0.5
    assert "0.25 × its speed at 16" in verdict["message"]
    assert "misses gate 'steady' (decode_tps_longest_vs_shortest >= 0.5)" in verdict["message"]
    share = next(r for r in records if r["name"] == "decode_tps_longest_vs_shortest")
    assert share["value"] == pytest.approx(0.25) and share["interval"] is None


def test_the_length_and_leak_verdicts_take_their_thresholds_from_the_gates():
    """One threshold per question: the run's absolute gate on the measurement, else the built-in
    default's, with a retired setting's value (--length-consistency, --leak-threshold) applied."""
    from harness.gates.spec import DEFAULT_GATES, parse_gates, threshold_gate

    own = parse_gates(
        {"steady": "decode_tps_longest_vs_shortest >= 0.8", "relative": "leak_kib_per_iter_* <= reference"}, "t"
    )
    assert threshold_gate(own, "decode_tps_longest_vs_shortest").k == 0.8
    leak = threshold_gate(own, "leak_kib_per_iter_fresh")  # a relative gate sets no number: the default's
    assert leak.name == "no_leak" and leak.k == 16 and leak.interval == "lenient"
    assert DEFAULT_GATES["no_leak"]["check"] == "leak_kib_per_iter_* <= 16"
    assert threshold_gate([], "leak_kib_per_iter_reused", {"no_leak": 32.0}).k == 32.0
    assert threshold_gate([], "decode_tps_longest_vs_shortest").name == "steady_decode_across_lengths"


def test_kv_cache_size_from_the_model_shape():
    config = {"model": {"decoder": {"num_hidden_layers": 4, "num_key_value_heads": 2, "head_size": 32}}}
    assert kv_cache_bytes(config, 1024, "float32") == 2 * 4 * 2 * 32 * 1024 * 4
    assert kv_cache_bytes(config, 1024, "float16") == 2 * 4 * 2 * 32 * 1024 * 2


def test_bandwidth_efficiency_and_the_cached_machine_figure(tmp_path):
    assert bandwidth_efficiency(100.0, 10**6, 10**9) == pytest.approx(0.1)
    assert not math.isnan(bandwidth_efficiency(1.0, 1, 1.0))
    first, cached = machine_bandwidth(tmp_path, "abc")
    assert not cached and first["bytes_per_s"] > 1e8 and len(first["samples_bytes_per_s"]) >= 3
    again, cached = machine_bandwidth(tmp_path, "abc")
    assert cached and again == first


class FakeBenchmark:
    """pytest-benchmark's pedantic contract: warm-up rounds, then rounds, or one call if disabled."""

    def __init__(self, disabled):
        self.disabled = disabled

    def pedantic(self, target, rounds, warmup_rounds, iterations):
        assert iterations == 1
        for _ in range(1 if self.disabled else warmup_rounds + rounds):
            target()


@pytest.mark.parametrize("disabled", [False, True])
def test_timed_rounds_keep_warmups_apart_even_when_the_plugin_is_disabled(disabled):
    calls = iter(range(100))
    warm, measured = timed_rounds(FakeBenchmark(disabled), lambda: next(calls), rounds=5, warmup=2)
    assert warm == [0, 1] and measured == [2, 3, 4, 5, 6]


def test_domain_token_ids_repeat_real_text_to_the_needed_length():
    ids = domain_token_ids(lambda text: list(text.encode()), ["ab", "c"], 10)
    assert ids == list(b"ab\n\ncab\n\nc")[:10] and len(ids) == 10
    with pytest.raises(ValueError):
        domain_token_ids(lambda text: [], ["x"], 5)
