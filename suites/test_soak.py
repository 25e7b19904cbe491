"""Soak: stable over long use. No memory growth, no slowdown, no leaks the runtime reports.

Per variant, in a worker of its own (so the other suites' allocations do not blur the series):
the mode's warm-up iterations, then measured iterations, each a forced-length greedy request on a
domain prompt, first with a fresh generator per request, then with one generator kept and rewound
(fewer warm-ups: the worker has by then served the fresh mode).
After each iteration the worker's RSS and the request's decode tokens/s are recorded. A mode ends
as soon as a leak is ruled out (looked at after the suite's minimum of iterations and at each
doubling: the RSS slope's 95 % interval wholly at or below the gate's threshold; a leak itself is
only concluded from the whole series), once it has run the profile's soak seconds after its
minimum (a large model's soak stays bounded), or at its maximum; ``stopped`` in the leak
measurement says which. Verdicts (``harness.measure.soak``):
the Theil–Sen RSS slope must meet the run's gate on it, as that gate judges it (by default
``no_leak``: a leak once the slope's 95 % interval lies above 16 KiB/iteration), decode speed must
not fall more than 10 % over the soak, and onnxruntime-genai must report no leaked objects when
the worker exits.
"""

import time

import pytest

from harness.measure.records import verdict
from harness.measure.sampler import schedule
from harness.measure.soak import leak_ruled_out, leak_verdict, runtime_leak_report, slowdown_verdict
from harness.runtime.client import WorkerSession
from harness.runtime.protocol import SessionSpec
from harness.settings.config import sizes_by_profile

pytestmark = pytest.mark.harness_perf

NEW_TOKENS = 16
# iterations run first and kept out of the verdicts: before the fresh mode, and (fewer: the worker's
# allocator has then served the fresh mode's requests) before the reused mode; per mode: measured
# iterations before the first
# look at the leak verdict (then at each doubling); measured iterations at most; and the time after
# which a mode ends once it has its minimum (None: no time limit)
SIZES = sizes_by_profile(
    quick={"warmup": 40, "warmup_reused": 10, "minimum": 30, "iterations": 120, "seconds": 30},
    standard={"warmup": 20, "warmup_reused": 5, "minimum": 60, "iterations": 300, "seconds": 60},
    full={"warmup": 50, "warmup_reused": 12, "minimum": 120, "iterations": 2000, "seconds": None},
)


def planned_seconds(sizes, shape, cost):
    """At most, per mode: its warm-ups, then the iterations up to the time bound (harness.measure.plan)."""
    one = cost.seconds(shape.prompt_tokens, NEW_TOKENS)
    measured = sizes.iterations * one
    if sizes.seconds:
        measured = min(measured, max(sizes.minimum * one, sizes.seconds))
    return (sizes.warmup + sizes.warmup_reused) * one + 2 * measured


def test_soak(
    variant,
    built_variant,
    harness_session,
    domain_prompt,
    harness_config,
    harness_state,
    sizes,
    gate_on,
    record_measurement,
    record_verdict,
):
    spec = SessionSpec(
        model_dir=str(built_variant.path),
        provider=harness_session.spec.provider,
        max_length=harness_session.info()["max_length"],
    )
    ids = harness_session.encode(domain_prompt)
    worker = WorkerSession(
        spec, f"{variant} (soak)", timeout=harness_config.worker_timeout, interpreter=harness_session.interpreter
    )  # the same runtime's toolchain
    verdicts = []
    try:
        for mode, rewound, warmup in (("fresh", False, sizes.warmup), ("reused", True, sizes.warmup_reused)):
            rss, tps = [], []
            started, stopped = None, "maximum"
            gate = gate_on(f"leak_kib_per_iter_{mode}")
            looks = schedule(sizes.minimum, sizes.iterations)
            for index in range(warmup + sizes.iterations):
                trace, memory = worker.generate_measured(ids, NEW_TOKENS, rewound=rewound)
                assert trace.new_tokens == NEW_TOKENS
                if index < warmup:
                    continue
                started = started or time.perf_counter()
                rss.append(memory["rss_bytes"])
                tps.append(trace.decode_tps)
                if len(rss) % max(sizes.iterations // 4, 1) == 0:  # a line per quarter
                    harness_state.progress(
                        f"soak {variant} {mode}: {len(rss)}/{sizes.iterations} "
                        f"iterations, RSS {memory['rss_bytes'] / 2**20:.1f} MiB"
                    )
                if len(rss) in looks and leak_ruled_out(rss, gate):
                    stopped = "cleared"
                    harness_state.progress(
                        f"soak {variant} {mode}: no leak after {len(rss)} iterations "
                        f"(the slope's 95 % interval lies at or below {gate.k:g} KiB/iteration)"
                    )
                    break
                if sizes.seconds and len(rss) >= sizes.minimum and time.perf_counter() - started > sizes.seconds:
                    stopped = "seconds"
                    harness_state.progress(
                        f"soak {variant} {mode}: {len(rss)} iterations in the profile's "
                        f"{sizes.seconds:g} s, RSS {memory['rss_bytes'] / 2**20:.1f} MiB"
                    )
                    break
            for record, finding in (
                leak_verdict(variant.id, mode, rss, gate, stopped=stopped),
                slowdown_verdict(variant.id, mode, tps),
            ):
                record_measurement(record)
                verdicts.append(finding)
    finally:
        stderr = worker.exit_report()
    leaked = runtime_leak_report(stderr)
    verdicts.append(
        verdict(
            variant.id,
            "soak",
            "runtime_leak_report",
            not leaked,
            message="; ".join(leaked) or "onnxruntime-genai reported no leaked objects at exit",
        )
    )
    for finding in verdicts:
        record_verdict(finding)
    # a slowdown is a trend to report (the closing summary lists it; gates decide); a leak fails
    leaks = [v["message"] for v in verdicts if not v["passed"] and not v["name"].startswith("no_slowdown")]
    assert not leaks, f"{variant}: " + " | ".join(leaks)
