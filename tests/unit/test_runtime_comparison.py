"""The runtime comparison pairs each variant with its twin and tests their figures as compare does."""

from harness.results.compare import CHANGED, NOISE
from harness.results.runtimes import comparisons


def _median(variant, name, samples):
    return {
        "variant": variant,
        "suite": "latency",
        "name": name,
        "unit": "tokens/s" if name == "decode_tps" else "ms",
        "estimator": "median",
        "value": sorted(samples)[len(samples) // 2],
        "samples": samples,
        "interval": [min(samples), max(samples)],
        "stats": {"n": len(samples)},
    }


def _results(slower: float) -> dict:
    return {
        "environment": {"machine_fingerprint": "m"},
        "variants": [
            {"id": "int4-cpu", "runtime": {"onnxruntime-genai": "0.18.0", "onnxruntime": "1.31.0"}},
            {
                "id": "int4-cpu@0.14.1",
                "twin": "int4-cpu",
                "runtime": {"onnxruntime-genai": "0.14.1", "onnxruntime": "1.31.0"},
            },
            {"id": "fp32-cpu"},
        ],
        "measurements": [
            _median("int4-cpu", "decode_tps", [100.0, 101, 99, 100, 102, 98, 100, 101]),
            _median("int4-cpu@0.14.1", "decode_tps", [x * slower for x in (100.0, 101, 99, 100, 102, 98, 100, 101)]),
            _median("int4-cpu", "ttft_ms", [10.0, 10.1, 9.9, 10.0, 10.2, 9.8, 10.0, 10.1]),
            _median("int4-cpu@0.14.1", "ttft_ms", [10.1, 9.9, 10.0, 10.2, 9.8, 10.0, 10.1, 10.0]),
            {
                "variant": "int4-cpu@0.14.1",
                "suite": "runtimes",
                "name": "runtime_kld_mean",
                "unit": "nats/token",
                "estimator": "estimate",
                "value": 1e-7,
            },
        ],
        "answers": [
            {"variant": v, "id": i, "answer": a}
            for v, i, a in (
                ("int4-cpu", "a", "yes"),
                ("int4-cpu@0.14.1", "a", "yes"),
                ("int4-cpu", "b", "no"),
                ("int4-cpu@0.14.1", "b", "maybe"),
                ("fp32-cpu", "a", "yes"),
            )
        ],
    }


def test_a_slower_runtime_is_changed_and_the_same_one_within_noise():
    slow = comparisons(_results(0.7))
    assert [c["variant"] for c in slow] == ["int4-cpu@0.14.1"] and slow[0]["twin"] == "int4-cpu"
    verdicts = {r["metric"]: r["verdict"] for r in slow[0]["rows"]}
    assert verdicts == {"decode_tps": CHANGED, "ttft_ms": NOISE}
    assert "Holm" in next(r["how"] for r in slow[0]["rows"] if r["metric"] == "decode_tps")
    same = comparisons(_results(1.0))
    assert {r["metric"]: r["verdict"] for r in same[0]["rows"]}["decode_tps"] == NOISE


def test_answers_and_logits_of_the_pair_are_counted():
    found = comparisons(_results(1.0))[0]
    assert (found["same_answers"], found["answers"]) == (1, 2)  # fp32-cpu's answer is not part of the pair
    assert found["kld"]["value"] == 1e-7 and found["top1"] is None


def test_a_run_without_other_runtimes_has_no_comparison():
    results = _results(1.0)
    results["variants"][1].pop("twin")
    assert comparisons(results) == []
