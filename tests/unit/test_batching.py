"""The choice between batched and one-at-a-time answers (harness.measure.batching), on a session
whose batches are as fast, as faithful or as refused as each test needs; the real batch on the
embedded model is tests/e2e/test_embedded_model.py's."""

import pytest

from harness.errors import GenerationError, WorkerCrashed
from harness.measure import batching
from harness.measure.batching import answer_prompts
from harness.runtime.fake import FakeSession


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


class Batching(FakeSession):
    """The fake's answers; one request costs 1 s of the test's clock, a batch ``batch_cost`` s,
    and ``wrong`` prompts get another answer in a batch."""

    def __init__(self, clock: Clock, batch_cost: float = 1.0, wrong: frozenset = frozenset(), refuse=None):
        super().__init__()
        self.clock, self.batch_cost, self.wrong, self.refuse = clock, batch_cost, wrong, refuse
        self.batches: list[list[str]] = []

    def generate(self, prompt, *, max_new_tokens, min_new_tokens=0):
        self.clock.now += 1.0
        return super().generate(prompt, max_new_tokens=max_new_tokens, min_new_tokens=min_new_tokens)

    def generate_batch(self, prompts, *, max_new_tokens):
        if self.refuse is not None:
            raise self.refuse
        self.batches.append(list(prompts))
        self.clock.now += self.batch_cost
        return [
            FakeSession.generate(self, p + ("!" if p in self.wrong else ""), max_new_tokens=max_new_tokens)
            for p in prompts
        ]


PROMPTS = [f"ticket {'x' * (k * 7 % 13)} number {k}" for k in range(14)]


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(batching.time, "perf_counter", clock)
    return clock


def singles(prompts):
    return [FakeSession().generate(p, max_new_tokens=16).tokens for p in prompts]


def test_a_faster_faithful_batch_answers_the_rest_in_batches_of_similar_length_in_the_prompts_order(clock):
    session = Batching(clock, batch_cost=1.5)
    traces, answering = answer_prompts(session, PROMPTS, 16, 4)
    assert [t.tokens for t in traces] == singles(PROMPTS)
    assert answering.batched and answering.sample == answering.same == 4
    assert answering.speedup == pytest.approx(4 / 1.5)
    assert "batches of 4" in answering.reason and "2.67 ×" in answering.reason
    assert len(session.batches) == 4  # the trial, then 10 prompts in groups of 4, 4 and 2
    assert [len(b) for b in session.batches] == [4, 4, 4, 2]
    by_length = sorted(PROMPTS, key=len)
    assert [p for b in session.batches for p in b] == by_length


def test_one_batched_answer_unlike_its_answer_alone_keeps_the_variant_one_at_a_time(clock):
    shortest = min(PROMPTS, key=len)
    session = Batching(clock, batch_cost=0.5, wrong=frozenset({shortest}))
    traces, answering = answer_prompts(session, PROMPTS, 16, 4)
    assert [t.tokens for t in traces] == singles(PROMPTS)
    assert not answering.batched and (answering.sample, answering.same) == (4, 3)
    assert "1 of 4 answers of a batch of 4 differed" in answering.reason
    assert len(session.batches) == 1


def test_a_batch_that_is_not_faster_enough_is_not_chosen(clock):
    session = Batching(clock, batch_cost=4 / 1.05)
    traces, answering = answer_prompts(session, PROMPTS, 16, 4)
    assert not answering.batched and answering.same == 4 and "1.05 ×" in answering.reason
    assert [t.tokens for t in traces] == singles(PROMPTS) and len(session.batches) == 1


@pytest.mark.parametrize(
    "refusal, said",
    [
        (GenerationError("runtime_error", "no batches here"), "refused a batch of 4 (runtime_error: no batches here)"),
        (WorkerCrashed("int4-cpu", -11, ""), "a batch of 4 crashed the worker (worker for variant int4-cpu died"),
    ],
    ids=["refused", "crashed"],
)
def test_a_refused_batch_is_said_and_every_prompt_answered_alone(clock, refusal, said):
    traces, answering = answer_prompts(Batching(clock, refuse=refusal), PROMPTS, 16, 4)
    assert not answering.batched and said in answering.reason
    assert [t.tokens for t in traces] == singles(PROMPTS)


@pytest.mark.parametrize("count, size", [(11, 4), (14, 1)])
def test_no_trial_where_it_cannot_pay_or_batches_are_off(clock, count, size):
    session = Batching(clock, batch_cost=0.1)
    traces, answering = answer_prompts(session, PROMPTS[:count], 16, size)
    assert not answering.batched and session.batches == [] and len(traces) == count
    assert ("too few to repay a trial" if size > 1 else "--answer-batch 1") in answering.reason
