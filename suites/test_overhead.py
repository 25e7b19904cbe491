"""The harness must not disturb what it measures: its session against a bare genai loop.

Same variant, same worker process and loaded model, same token ids, same forced length (about a
quarter second of decoding, 16 to 1,024 tokens); alternating pairs of one request through the
harness's session and one through the bare loop (``harness.measure.overhead``), measured until the
95 % intervals decide or the suite's pairs for the profile (``SIZES``) are spent.
Targets: decode tokens/s ≥ 0.98 × the bare loop's, TTFT within ±3 %; a verdict passes only when
its interval shows the target met. The verdicts go into results.json, the report and the run's
closing summary; a miss does not fail the test (gates decide what fails a release).
A check of the harness, not of the user's model: it runs with ``--overhead`` or in the full profile
(and in the harness's own tests), and is skipped, saying so, otherwise (the ``harness_opt_in`` mark).
"""

import math

import pytest

from harness.measure.overhead import alternate, measure, verdicts
from harness.measure.records import measurement
from harness.settings.config import sizes_by_profile

pytestmark = [pytest.mark.harness_perf, pytest.mark.harness_opt_in("overhead", profiles=("full",))]

# Each request decodes for about DECODE_SECONDS (at least MIN_NEW_TOKENS, at most MAX_NEW_TOKENS
# and what max_length leaves): long enough that the clock's resolution and scheduler jitter do not
# decide the ratio, and no longer, so that a slow model does not spend minutes here.
DECODE_SECONDS = 0.25
MIN_NEW_TOKENS = 16
MAX_NEW_TOKENS = 1024
WARMUP_PAIRS = 3
# alternating harness / bare-loop request pairs, at most (fewer once both verdicts are decided)
SIZES = sizes_by_profile(quick={"pairs": 10}, standard={"pairs": 60}, full={"pairs": 320})


def planned_seconds(sizes, shape, cost):
    """At most: each pair is a harness request and a bare-loop one (harness.measure.plan)."""
    return cost.seconds(shape.prompt_tokens, shape.profile.new_tokens, 2 * sizes.pairs)


def test_harness_overhead(
    variant, harness_session, domain_prompt, harness_config, sizes, record_measurement, record_verdict
):
    profile = harness_config.profile
    max_length = harness_session.info()["max_length"]
    ids = harness_session.encode(domain_prompt)
    probe = harness_session.generate(ids, max_new_tokens=profile.new_tokens, min_new_tokens=profile.new_tokens)
    wanted = max(MIN_NEW_TOKENS, min(MAX_NEW_TOKENS, math.ceil(DECODE_SECONDS * probe.decode_tps)))
    n = min(wanted, max_length - len(ids))
    assert n >= 2, f"max_length {max_length} leaves no room to decode after a {len(ids)}-token prompt"

    def through_harness():
        trace = harness_session.generate(ids, max_new_tokens=n, min_new_tokens=n)
        assert trace.new_tokens == n
        return trace.ttft_s, trace.decode_tps

    def bare_loop():  # in the same worker, on the same loaded model
        answer = harness_session.bare(ids, n)
        return answer["ttft_s"], (n - 1) / answer["decode_s"]

    alternate(through_harness, bare_loop, WARMUP_PAIRS)  # kept out of the statistics
    pairs = measure(through_harness, bare_loop, sizes.pairs)
    for side in ("harness", "bare"):
        record_measurement(
            measurement(
                variant.id,
                "overhead",
                f"{side}_decode_tps",
                "tokens/s",
                [p[f"{side}_decode_tps"] for p in pairs],
                higher_is_better=True,
            )
        )
        record_measurement(
            measurement(
                variant.id,
                "overhead",
                f"{side}_ttft_ms",
                "ms",
                [p[f"{side}_ttft_s"] * 1e3 for p in pairs],
                higher_is_better=False,
            )
        )
    record_measurement(
        measurement(
            variant.id, "overhead", "decode_ratio", "ratio", [p["decode_ratio"] for p in pairs], higher_is_better=True
        )
    )
    record_measurement(
        measurement(
            variant.id, "overhead", "ttft_ratio", "ratio", [p["ttft_ratio"] for p in pairs], higher_is_better=False
        )
    )
    for verdict in verdicts(variant.id, pairs):
        record_verdict(verdict)
    assert 0 < len(pairs) <= sizes.pairs
