"""Input length: does the variant stay fast from short prompts to the context limit?

Prompts are real domain text cut to exact token counts, from the shortest sweep point to the
longest the run's ``max_length`` allows with the new tokens still to come (the profile sets the
points). One warm-up request at the shortest point, then at each point: the suite's prefills
(each timed: TTFT), each followed by decoding the same tokens again from its kept prefill (the
generator rewound to the prompt's last token) until the suite's decodes are measured: decode
tokens/s comes from all of them. The
cost that grows with the model is the prefill; decoding again measures decode speed at a long
context without paying it again.
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

# the sweep's points (shares of the room under max_length); at each (after one warm-up at the shortest):
# the measured prefills, the decodes measured in all (each prefill's own and those decoded again
# from it), and the tokens each generates
SIZES = sizes_by_profile(
    quick={"points": (0.0, 0.5, 1.0), "prefills": 1, "decodes": 6, "new_tokens": 16},
    standard={"points": (0.0, 0.25, 0.5, 0.75, 1.0), "prefills": 2, "decodes": 12, "new_tokens": 32},
    full={"points": (0.0, 0.1, 0.2, 0.3, 0.45, 0.6, 0.75, 0.9, 1.0), "prefills": 3, "decodes": 30, "new_tokens": 64},
)


def _per_prefill(sizes) -> int:
    """Requests per prefill, its own included."""
    return -(-sizes.decodes // sizes.prefills)


def planned_seconds(sizes, shape, cost):
    """The warm-up, then at each point its prefills and the decodes again from them (one token
    appended each) (harness.measure.plan)."""
    n = sizes.new_tokens
    lengths = sweep_lengths(shape.max_length, n, sizes.points)
    again = sizes.prefills * (_per_prefill(sizes) - 1)
    return cost.seconds(lengths[0], n) + sum(
        cost.seconds(length, n, sizes.prefills) + cost.seconds(1, n, again) for length in lengths
    )


def test_input_length(variant, harness_session, domain_examples, sizes, gate_on, record_measurement, record_verdict):
    limit = harness_session.info()["max_length"]
    n = sizes.new_tokens
    lengths = sweep_lengths(limit, n, sizes.points)
    corpus = domain_token_ids(harness_session.encode, domain_texts(domain_examples), limit + 1)

    points = []
    each = _per_prefill(sizes)
    harness_session.generate(corpus[: lengths[0]], max_new_tokens=n, min_new_tokens=n)  # warm-up, kept out
    for length in lengths:
        ids = corpus[:length]
        runs = [harness_session.generate_again(ids, n, each) for _ in range(sizes.prefills)]
        assert all(t.new_tokens == n for run in runs for t in run), "min_new_tokens did not force the length"
        points.append((length, [run[0] for run in runs], [t for run in runs for t in run[1:]]))
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
