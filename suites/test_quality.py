"""Domain quality per variant: does the cheaper precision still do the job?

- Task quality: the variant answers the evaluation set (greedy); every check of every record is
  scored; each pass/fail check becomes a share with its Wilson 95 % interval and an exact McNemar
  test against the reference variant's answers to the same examples; ROUGE-L a mean with its
  bootstrap interval. Every answer and score goes into results.json (``answers``).
- Closeness: the variant's full next-token distributions against the reference's on the same
  tokens of domain text: KL divergence, top-1 agreement, Δp, perplexity ratio
  (:mod:`harness.measure.closeness`, computed as llama-perplexity --kl-divergence does).

Both run with and without ``--benchmark``; thresholds are the gates' job (suites/test_gates.py).
"""

import pytest

from harness.measure.closeness import STATISTICS, chunks_of
from harness.measure.closeness import summarize as closeness_summary
from harness.measure.quality import (
    KLD_CONTEXT,
    MIN_CONTEXT,
    answer_all,
    task_measurements,
    token_stream,
)
from harness.measure.records import estimate


def test_task_quality(variant, harness_session, harness_state, quality_examples, format_prompt,
                      harness_config, record_measurement, record_answers):
    if not any(example.checks for example in quality_examples):
        pytest.skip("nothing to score: no record of the evaluation set has a reference or checks "
                    "(docs/guides/evaluation-data.md)")

    def answers_from(session):
        return answer_all(session.generate, quality_examples, format_prompt, harness_config.answer_tokens)

    answers = answers_from(harness_session)
    record_answers(variant, answers)
    reference = harness_state.reference_for(variant)
    paired = None
    if reference == variant:  # the reference's own answers are the ones others are paired with
        harness_state.answers_of_reference(reference, quality_examples, lambda _: answers)
    elif reference is not None:
        paired = harness_state.answers_of_reference(reference, quality_examples, answers_from)
    records = task_measurements(variant, answers, None if reference == variant else reference, paired)
    for record in records:
        record_measurement(record)
    assert len(answers) == len(quality_examples) and records


def test_closeness_to_reference(variant, harness_session, harness_state, domain_examples, format_prompt,
                                record_measurement):
    reference = harness_state.reference_for(variant)
    if reference is None:
        pytest.skip(f"no runnable {harness_state.config.reference} variant to compare with")
    room = harness_session.info()["max_length"] - 1  # a prompt must leave room for one more token
    n_ctx = min(KLD_CONTEXT, room - room % 2)
    chunk_count = harness_state.config.profile.kld_chunks
    stream: list[int] = []
    for example in domain_examples:  # only as much text as the chunks need
        stream += token_stream([example], format_prompt, harness_session.encode)
        if len(stream) >= n_ctx * chunk_count:
            break
    if len(stream) < n_ctx:  # a small set: one chunk of what there is
        n_ctx = len(stream) - len(stream) % 2
    if n_ctx < MIN_CONTEXT:
        pytest.skip(f"the evaluation set gives {len(stream)} tokens, too few to score ({MIN_CONTEXT} needed)")
    chunks = chunks_of(stream, n_ctx, chunk_count)
    scored = len(chunks) * (n_ctx - 1 - n_ctx // 2)
    path, written = harness_state.reference_logprobs(reference, chunks)
    if reference == variant:  # stored once for every other variant; nothing to compare with
        assert written is None or written["tokens"] == scored
        return
    per_token = harness_session.compare(chunks, path)
    stats = closeness_summary(per_token)
    for name, figures in stats.items():
        unit, better = STATISTICS[name]
        samples = per_token["kld"] if name == "kld_mean" else per_token["delta_p"] if name == "delta_p_mean" else ()
        record_measurement(estimate(variant, "quality", name, unit, figures["value"], figures.get("uncertainty"),
                                    stats={k: v for k, v in figures.items() if k not in ("value", "uncertainty")},
                                    samples=samples, higher_is_better=better, reference=reference,
                                    bounds=(0.0, 1.0) if unit == "fraction" else None,
                                    chunks=len(chunks), n_ctx=n_ctx))
    assert stats["kld_mean"]["n"] == scored
