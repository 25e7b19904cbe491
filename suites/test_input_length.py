"""Input length: does the variant stay fast from short prompts to the context limit?

Prompts are real domain text cut to exact token counts, from the shortest sweep point to the
longest the run's ``max_length`` allows with the new tokens still to come (the profile sets the
points). At each: one warm-up, then TTFT and decode tokens/s over the profile's repetitions.
Fitted cost: prefill ms per prompt token, and the decode slowdown per 1,000 tokens of context.
Verdict: decode tokens/s at the longest prompt, as a share of the shortest's
(``decode_tps_longest_vs_shortest``), meets the threshold of the run's gate on it (by default
``steady_decode_across_lengths``: 0.5); it goes into results.json, the report and the run's closing
summary; a miss does not fail the test (the release gate fails the run).
A prompt at the limit and one beyond it must each end in the typed ``prompt_too_long`` error.
"""

import pytest

from harness.errors import GenerationError
from harness.measure.perf import domain_token_ids, length_records, sweep_lengths
from harness.measure.records import verdict
from harness.measure.smoke import domain_texts
from harness.settings.config import sizes_by_profile

pytestmark = pytest.mark.harness_perf

# the sweep's points (shares of the room under max_length), the measured requests at each (after
# one warm-up) and the tokens each generates
SIZES = sizes_by_profile(
    quick={"points": (0.0, 0.33, 0.66, 1.0), "repetitions": 3, "new_tokens": 16},
    standard={"points": (0.0, 0.2, 0.4, 0.6, 0.8, 1.0), "repetitions": 5, "new_tokens": 32},
    full={"points": (0.0, 0.1, 0.2, 0.3, 0.45, 0.6, 0.75, 0.9, 1.0), "repetitions": 10, "new_tokens": 64},
)


def test_input_length(variant, harness_session, domain_examples, sizes, gate_on, record_measurement, record_verdict):
    limit = harness_session.info()["max_length"]
    n = sizes.new_tokens
    lengths = sweep_lengths(limit, n, sizes.points)
    corpus = domain_token_ids(harness_session.encode, domain_texts(domain_examples), limit + 1)

    points = []
    for length in lengths:

        def request(ids=corpus[:length]):
            return harness_session.generate(ids, max_new_tokens=n, min_new_tokens=n)

        request()  # warm-up at this length, kept out of the statistics
        points.append((length, [request() for _ in range(sizes.repetitions)]))
    records, consistency = length_records(variant.id, points, gate_on("decode_tps_longest_vs_shortest"))
    for record in records:
        record_measurement(record)
    record_verdict(consistency.with_details(prompt_tokens=lengths, max_length=limit))

    for name, length in (("prompt_at_limit", limit), ("prompt_beyond_limit", limit + 1)):
        with pytest.raises(GenerationError) as refused:
            harness_session.generate(corpus[:length], max_new_tokens=1)
        record_verdict(
            verdict(
                variant.id,
                "length",
                name,
                refused.value.kind == "prompt_too_long",
                prompt_tokens=length,
                message=f"{length} tokens with max_length {limit}: {refused.value}",
            )
        )
        assert refused.value.kind == "prompt_too_long", str(refused.value)
