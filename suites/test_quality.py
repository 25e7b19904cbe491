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

from harness.measure.quality import KLD_CONTEXT, answer_all, closeness_records, task_measurements
from harness.run.reference import answers_of_reference, reference_logprobs


def planned_seconds(sizes, shape, cost):
    """At most: every evaluation example answered to the answer cap (each prompt taken as long as
    the domain prompt), and the closeness chunks prefilled once (harness.measure.plan)."""
    chunk = min(KLD_CONTEXT, shape.max_length - 1)
    return cost.seconds(shape.prompt_tokens, shape.answer_tokens, shape.examples) + cost.seconds(
        chunk, 0, shape.profile.kld_chunks
    )


def test_task_quality(
    variant,
    harness_session,
    harness_state,
    quality_examples,
    format_prompt,
    harness_config,
    record_measurement,
    record_answers,
):
    if not any(example.checks for example in quality_examples):
        pytest.skip(
            "nothing to score: no record of the evaluation set has a reference or checks "
            "(docs/guides/evaluation-data.md)"
        )

    def answering_of(session):
        return answer_all(
            session, quality_examples, format_prompt, harness_config.answer_tokens, harness_config.answer_batch
        )

    def answers_from(session):
        return answering_of(session)[0]

    answers, answering = answering_of(harness_session)
    harness_state.note(variant.id, answering=answering.to_record())
    harness_state.progress(f"answers {variant.id}: {answering.reason}")
    record_answers(variant.id, answers)
    reference = harness_state.reference_for(variant.id)
    paired = None
    if reference == variant.id:  # the reference's own answers are the ones others are paired with
        answers_of_reference(harness_state, reference, quality_examples, lambda _: answers)
    elif reference is not None:
        paired = answers_of_reference(harness_state, reference, quality_examples, answers_from)
    records = task_measurements(variant.id, answers, None if reference == variant.id else reference, paired)
    for record in records:
        record_measurement(record)
    assert len(answers) == len(quality_examples) and records


def test_closeness_to_reference(variant, harness_session, harness_state, record_measurement, request):
    reference = harness_state.reference_for(variant.id)
    if reference is None:
        pytest.skip(f"no runnable {harness_state.config.reference} variant to compare with")
    chunks, n_ctx = request.getfixturevalue("closeness_text")  # after the skip: no text is cut without a reference
    scored = len(chunks) * (n_ctx - 1 - n_ctx // 2)
    path, written = reference_logprobs(harness_state, reference, chunks)
    if reference == variant.id:  # stored once for every other variant; nothing to compare with
        assert written is None or written["tokens"] == scored
        return
    records = closeness_records(
        variant.id, "quality", harness_session.compare(chunks, path), reference, len(chunks), n_ctx
    )
    for record in records:
        record_measurement(record)
    assert next(r for r in records if r.name == "kld_mean").stats["n"] == scored
