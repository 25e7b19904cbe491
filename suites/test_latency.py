"""Latency and throughput per variant, and how close decoding runs to the memory-bandwidth limit.

Greedy, a fixed domain prompt, the number of new tokens forced, warm-ups kept apart. The requests
go through pytest-benchmark's ``pedantic`` (so ``--benchmark-json``, ``--benchmark-autosave``
and ``--benchmark-compare`` work); the harness's own statistics come from the per-token times the
worker took, not from that plugin's wall-clock of the round trip.
"""

import pytest

from harness.measure.perf import bandwidth_efficiency, latency_records, timed_rounds
from harness.measure.records import measurement

pytestmark = pytest.mark.harness_perf


def test_latency(
    variant,
    harness_session,
    built_variant,
    domain_prompt,
    harness_config,
    benchmark,
    machine_bandwidth,
    record_measurement,
):
    profile = harness_config.profile
    prompt = domain_prompt
    n = profile.new_tokens

    def request():
        return harness_session.generate(prompt, max_new_tokens=n, min_new_tokens=n)

    warmups, traces = timed_rounds(benchmark, request, rounds=profile.repetitions, warmup=profile.warmup)
    assert all(t.new_tokens == n for t in warmups + traces), "min_new_tokens did not force the length"
    context = {"prompt_tokens": traces[0].prompt_tokens, "new_tokens": n}
    records = latency_records(variant.id, "latency", warmups, traces, **context)
    for record in records:
        record_measurement(record)

    per_token = built_variant.quantization["weight_bytes_read_per_token"]
    bandwidth = machine_bandwidth["bytes_per_s"]
    record_measurement(
        measurement(
            variant.id,
            "latency",
            "bandwidth_efficiency",
            "fraction",
            [bandwidth_efficiency(t.decode_tps, per_token, bandwidth) for t in traces],
            warmup=[bandwidth_efficiency(t.decode_tps, per_token, bandwidth) for t in warmups],
            higher_is_better=True,
            weight_bytes_read_per_token=per_token,
            machine_bandwidth_bytes_per_s=bandwidth,
        )
    )

    medians = {r["name"]: r["value"] for r in records}
    benchmark.extra_info.update(variant=variant.id, **context, **{k: round(v, 4) for k, v in medians.items()})
    assert medians["decode_tps"] > 0 and medians["ttft_ms"] > 0
