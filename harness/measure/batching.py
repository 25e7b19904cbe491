"""Answers in batches where batching pays, and only with the answers one at a time would give.

A static batch (onnxruntime-genai's ``batch_size``) decodes several answers per step. On a CPU it
pays where a decode step is bound by reading the weights (large models, wide precisions), not
where the cores' arithmetic already bounds it, and padding the shorter prompts can flip a close
greedy choice. So each variant tries it first: its ``batch_size`` shortest prompts are answered
one at a time (those answers are kept) and then as one batch. The variant answers the rest in
batches only if every batched answer equals its one-at-a-time answer token for token and the batch
took at most 1 / :data:`MIN_SPEEDUP` of the time; otherwise one at a time, and the choice and its
reason go into the variant's record (``answering``). Batches group prompts of similar length, so
little is padded. A batch the runtime refuses, or that crashes the worker (which then restarts),
is answered one at a time.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

from harness.errors import GenerationError, WorkerCrashed
from harness.measure.trace import GenerationTrace

MIN_SPEEDUP = 1.1  # a batch must take at most 1/1.1 of the time one at a time takes to be chosen
TRIALS_TO_REPAY = 3  # fewer prompts than this many batches: the trial cannot pay for itself


@dataclass(frozen=True)
class Answering:
    """How a variant answered, and why."""

    batched: bool
    batch_size: int
    reason: str
    sample: int = 0  # prompts answered both ways in the trial
    same: int = 0  # of them, answers identical token for token
    one_at_a_time_s: float | None = None
    batch_s: float | None = None

    @property
    def speedup(self) -> float | None:
        return self.one_at_a_time_s / self.batch_s if self.one_at_a_time_s and self.batch_s else None

    def to_record(self) -> dict:
        return {**asdict(self), "speedup": self.speedup}


def answer_prompts(
    session, prompts: Sequence[str], max_new_tokens: int, batch_size: int
) -> tuple[list[GenerationTrace], Answering]:
    """Greedy answers to ``prompts`` (in their order), in batches of ``batch_size`` where the
    trial above chose them; ``batch_size`` 1 answers one at a time without a trial."""

    def one(prompt: str) -> GenerationTrace:
        return session.generate(prompt, max_new_tokens=max_new_tokens)

    if batch_size <= 1:
        return [one(p) for p in prompts], Answering(False, 1, "one at a time: --answer-batch 1")
    if len(prompts) < TRIALS_TO_REPAY * batch_size:
        reason = (
            f"one at a time: {len(prompts)} answers are fewer than {TRIALS_TO_REPAY} batches of {batch_size}, "
            "too few to repay a trial"
        )
        return [one(p) for p in prompts], Answering(False, batch_size, reason)
    # prompts of similar length together, so that little is padded; the trial takes the first group
    order = sorted(range(len(prompts)), key=lambda k: len(prompts[k]))
    groups = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    answers: dict[int, GenerationTrace] = {}
    started = time.perf_counter()
    answers.update((k, one(prompts[k])) for k in groups[0])
    single_s = time.perf_counter() - started
    try:
        started = time.perf_counter()
        batched = session.generate_batch([prompts[k] for k in groups[0]], max_new_tokens=max_new_tokens)
        batch_s = time.perf_counter() - started
    except (GenerationError, WorkerCrashed) as exc:
        if isinstance(exc, GenerationError):
            reason = f"one at a time: the runtime refused a batch of {batch_size} ({exc.kind}: {exc.message})"
        else:
            reason = f"one at a time: a batch of {batch_size} crashed the worker ({exc}), which was started again"
        trial = Answering(False, batch_size, reason, len(groups[0]), 0, single_s)
    else:
        same = sum(answers[k].tokens == b.tokens for k, b in zip(groups[0], batched))
        trial = Answering(False, batch_size, "", len(groups[0]), same, single_s, batch_s)
        if same < trial.sample:
            reason = (
                f"one at a time: {trial.sample - same} of {trial.sample} answers of a batch of {batch_size} "
                "differed from the same prompts' answers one at a time"
            )
        elif (trial.speedup or 0.0) < MIN_SPEEDUP:
            reason = (
                f"one at a time: a batch of {batch_size} took {batch_s:.2f} s against {single_s:.2f} s one at a "
                f"time ({trial.speedup:.2f} ×; a batch is chosen from {MIN_SPEEDUP} ×)"
            )
        else:
            reason = (
                f"batches of {batch_size}: {single_s:.2f} s one at a time against {batch_s:.2f} s in a batch "
                f"({trial.speedup:.2f} ×), its {trial.sample} answers identical"
            )
            trial = replace(trial, batched=True)
    for group in groups[1:]:
        answers.update(zip(group, _answer_group(session, [prompts[k] for k in group], max_new_tokens, trial.batched)))
    return [answers[k] for k in range(len(prompts))], replace(trial, reason=reason)


def _answer_group(session, prompts: list[str], max_new_tokens: int, batched: bool) -> list[GenerationTrace]:
    if batched:
        try:
            return session.generate_batch(prompts, max_new_tokens=max_new_tokens)
        except (GenerationError, WorkerCrashed):  # refused (e.g. no room once padded): one at a time
            pass
    return [session.generate(prompt, max_new_tokens=max_new_tokens) for prompt in prompts]
