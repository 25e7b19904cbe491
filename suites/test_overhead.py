"""The harness must not disturb what it measures: its session against a bare genai loop.

Same variant, same token ids, same forced length (about a quarter second of decoding, 16 to 256
tokens); alternating pairs (``harness.measure.overhead``).
Targets: decode tokens/s ≥ 0.98 × the bare loop's, TTFT within ±3 %. The verdicts go into
results.json, the report and the run's closing summary; a miss does not fail the test (gates
decide what fails a release).
"""

import math
from statistics import median

import pytest

from harness.measure.overhead import BareLoop, alternate, verdicts
from harness.measure.records import measurement

pytestmark = pytest.mark.harness_perf

# Each request decodes for about DECODE_SECONDS (at least MIN_NEW_TOKENS, at most MAX_NEW_TOKENS):
# long enough that the clock's resolution and scheduler jitter do not decide the ratio, and no
# longer, so that a slow model does not spend minutes here.
DECODE_SECONDS = 0.25
MIN_NEW_TOKENS = 16
MAX_NEW_TOKENS = 256
BURST = 3  # requests per side per pair; the side's figure is their median
WARMUP_PAIRS = 3


def test_harness_overhead(variant, harness_session, built_variant, domain_prompt, harness_config,
                          record_measurement, record_verdict):
    profile = harness_config.profile
    max_length = harness_session.info()["max_length"]
    ids = harness_session.encode(domain_prompt)
    probe = harness_session.generate(ids, max_new_tokens=profile.new_tokens, min_new_tokens=profile.new_tokens)
    wanted = max(MIN_NEW_TOKENS, min(MAX_NEW_TOKENS, math.ceil(DECODE_SECONDS * probe.decode_tps)))
    n = min(wanted, max_length - len(ids))
    assert n >= 2, f"max_length {max_length} leaves no room to decode after a {len(ids)}-token prompt"
    bare = BareLoop(built_variant.path, max_length, harness_session.interpreter)  # the same toolchain
    try:
        def through_harness():
            traces = [harness_session.generate(ids, max_new_tokens=n, min_new_tokens=n) for _ in range(BURST)]
            assert all(t.new_tokens == n for t in traces)
            return median(t.ttft_s for t in traces), median(t.decode_tps for t in traces)

        def bare_loop():
            answers = [bare.run(ids, n) for _ in range(BURST)]
            return median(a["ttft_s"] for a in answers), median((n - 1) / a["decode_s"] for a in answers)

        alternate(through_harness, bare_loop, WARMUP_PAIRS)  # kept out of the statistics
        pairs = alternate(through_harness, bare_loop, profile.overhead_pairs)
    finally:
        bare.close()
    for side in ("harness", "bare"):
        record_measurement(measurement(variant, "overhead", f"{side}_decode_tps", "tokens/s",
                                       [p[f"{side}_decode_tps"] for p in pairs], higher_is_better=True))
        record_measurement(measurement(variant, "overhead", f"{side}_ttft_ms", "ms",
                                       [p[f"{side}_ttft_s"] * 1e3 for p in pairs], higher_is_better=False))
    record_measurement(measurement(variant, "overhead", "decode_ratio", "ratio",
                                   [p["decode_ratio"] for p in pairs], higher_is_better=True))
    record_measurement(measurement(variant, "overhead", "ttft_ratio", "ratio",
                                   [p["ttft_ratio"] for p in pairs], higher_is_better=False))
    for verdict in verdicts(variant, pairs):
        record_verdict(verdict)
    assert len(pairs) == profile.overhead_pairs
