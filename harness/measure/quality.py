"""Domain quality of a variant: its answers to the evaluation set scored check by check, paired
with the reference variant's answers (McNemar), and the token stream the closeness suite scores."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from harness.evaluation.prompts import conversation_text
from harness.evaluation.records import Example
from harness.evaluation.scoring import PROPORTIONS, score
from harness.measure.batching import Answering, answer_prompts
from harness.measure.records import Measurement, measurement, proportion
from harness.measure.statistics import mcnemar_exact

KLD_CONTEXT = 512  # tokens per closeness chunk (capped by the session's max_length and the text)
MIN_CONTEXT = 16  # fewer tokens of domain text than this: closeness is not measured


def answer_all(
    session, examples: Sequence[Example], format_prompt, max_new_tokens: int, batch_size: int = 1
) -> tuple[list[dict], Answering]:
    """Greedy answers to every example, each with its scores: the per-example outcomes that go
    into results.json (``answers``); in batches where they pay and change no answer
    (:mod:`harness.measure.batching`), and how they were answered."""
    prompts = [format_prompt(list(example.messages)) for example in examples]
    traces, answering = answer_prompts(session, prompts, max_new_tokens, batch_size)
    answers = [
        {
            "id": example.id,
            "answer": trace.text,
            "finish_reason": trace.finish_reason,
            "new_tokens": trace.new_tokens,
            "scores": score(example, trace.text),
        }
        for example, trace in zip(examples, traces)
    ]
    return answers, answering


def task_measurements(
    variant: str, answers: list[dict], reference: str | None = None, reference_answers: list[dict] | None = None
) -> list[dict]:
    """One record per check: pass/fail checks as proportions (Wilson 95 %) with an exact McNemar
    test against the reference's outcomes on the same examples; ROUGE-L as a mean (bootstrap)."""
    paired = {a["id"]: a["scores"] for a in reference_answers or []}
    records = []
    names = [n for n in PROPORTIONS if any(n in a["scores"] for a in answers)]
    for name in names:
        scored = [a for a in answers if name in a["scores"]]
        outcomes = [bool(a["scores"][name]) for a in scored]
        extra: dict = {"example_ids": [a["id"] for a in scored]}
        if reference is not None and all(name in paired.get(a["id"], {}) for a in scored):
            theirs = [bool(paired[a["id"]][name]) for a in scored]
            test = mcnemar_exact(theirs, outcomes)
            extra["paired"] = {"reference": reference, **test}
            # the reference's share on the same examples: what a relative gate compares with when
            # the reference is not itself a variant of the run
            extra["reference_figure"] = {"variant": reference, "value": sum(theirs) / len(theirs)}
        records.append(proportion(variant, "quality", name, outcomes, **extra))
    rouge = [a for a in answers if "rouge_l" in a["scores"]]
    if rouge:
        extra = {}
        if reference is not None and all("rouge_l" in paired.get(a["id"], {}) for a in rouge):
            theirs = [paired[a["id"]]["rouge_l"] for a in rouge]
            extra["reference_figure"] = {"variant": reference, "value": sum(theirs) / len(theirs)}
        records.append(
            measurement(
                variant,
                "quality",
                "rouge_l",
                "F1",
                [a["scores"]["rouge_l"] for a in rouge],
                estimator="mean",
                higher_is_better=True,
                example_ids=[a["id"] for a in rouge],
                **extra,
            )
        )
    return records


def token_stream(examples: Sequence[Example], format_prompt, encode: Callable[[str], list[int]]) -> list[int]:
    """The domain text the closeness suite scores: each example's conversation, encoded, joined."""
    tokens: list[int] = []
    for example in examples:
        tokens.extend(encode(conversation_text(example, format_prompt)))
    return tokens


class TooLittleText(Exception):
    """The text gives too few tokens to score closeness on (the message says how many)."""


def closeness_chunks(
    examples: Sequence[Example], format_prompt, encode: Callable[[str], list[int]], max_length: int, chunk_count: int
) -> tuple[list[list[int]], int]:
    """The chunks of domain text closeness is scored on, and their length. A chunk leaves room
    for one more token under ``max_length``; a small set gives one chunk of what there is.
    Raises :class:`TooLittleText`."""
    from harness.measure.closeness import chunks_of

    room = max_length - 1
    n_ctx = min(KLD_CONTEXT, room - room % 2)
    stream: list[int] = []
    for example in examples:  # only as much text as the chunks need
        stream += token_stream([example], format_prompt, encode)
        if len(stream) >= n_ctx * chunk_count:
            break
    if len(stream) < n_ctx:
        n_ctx = len(stream) - len(stream) % 2
    if n_ctx < MIN_CONTEXT:
        raise TooLittleText(f"the evaluation set gives {len(stream)} tokens, too few to score ({MIN_CONTEXT} needed)")
    return chunks_of(stream, n_ctx, chunk_count), n_ctx


def closeness_records(
    variant: str, suite: str, per_token: dict, reference: str, chunks: int, n_ctx: int, prefix: str = ""
) -> list[Measurement]:
    """One estimate per closeness statistic of ``per_token`` (named ``prefix + statistic``)."""
    from harness.measure.closeness import STATISTICS, summarize
    from harness.measure.records import estimate

    records = []
    for name, figures in summarize(per_token).items():
        unit, better = STATISTICS[name]
        samples = per_token["kld"] if name == "kld_mean" else per_token["delta_p"] if name == "delta_p_mean" else ()
        records.append(
            estimate(
                variant,
                suite,
                prefix + name,
                unit,
                figures["value"],
                figures.get("uncertainty"),
                stats={k: v for k, v in figures.items() if k not in ("value", "uncertainty")},
                samples=samples,
                higher_is_better=better,
                reference=reference,
                bounds=(0.0, 1.0) if unit == "fraction" else None,
                chunks=chunks,
                n_ctx=n_ctx,
            )
        )
    return records
