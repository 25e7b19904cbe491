"""Latency and throughput per variant, and how close decoding runs to the memory-bandwidth limit.

Greedy, a fixed domain prompt, the number of new tokens forced, warm-ups kept apart; requests are
repeated until the medians of decode tokens/s and TTFT are known to the profile's precision, or its
maximum is spent (:mod:`harness.measure.sampler`; ``stopped`` in each record says which). The first
requests go through pytest-benchmark's ``pedantic`` (so ``--benchmark-json``,
``--benchmark-autosave`` and ``--benchmark-compare`` work); the harness's own statistics come from
the per-token times the worker took, not from that plugin's wall-clock of the round trip.
"""

import pytest

from harness.measure.perf import bandwidth_efficiency, latency_records, timed_rounds
from harness.measure.records import measurement
from harness.measure.sampler import sample

pytestmark = pytest.mark.harness_perf


def planned_seconds(sizes, shape, cost):
    """At most: the profile's warm-ups and most repetitions of the domain prompt (harness.measure.plan)."""
    profile = shape.profile
    return cost.seconds(shape.prompt_tokens, profile.new_tokens, profile.warmup + profile.repetitions)


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

    warmups, first = timed_rounds(benchmark, request, rounds=profile.min_repetitions, warmup=profile.warmup)
    traces, stop = sample(
        request,
        {"decode_tps": lambda t: t.decode_tps, "ttft_ms": lambda t: t.ttft_s * 1000},
        target=profile.precision,
        minimum=profile.min_repetitions,
        maximum=profile.repetitions,
        first=first,
    )
    assert all(t.new_tokens == n for t in warmups + traces), "min_new_tokens did not force the length"
    context = {"prompt_tokens": traces[0].prompt_tokens, "new_tokens": n, "stopped": stop.to_record()}
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
