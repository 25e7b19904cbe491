"""The reference's cached answers and log-probs: reused for the same inputs, recomputed when any
input of their key changes (the build, the data, the examples, the answer length, the prompt
format; the chunks), kept across runs on disk."""

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.evaluation.records import Example
from harness.run.reference import answers_of_reference, reference_logprobs
from harness.run.run import Run
from harness.settings.config import RunConfig

EXAMPLES = [
    Example("a", ({"role": "user", "content": "2+2?"},), reference="4", checks={"exact_match": True}),
    Example("b", ({"role": "user", "content": "Capital of France?"},), reference="Paris", checks={"exact_match": True}),
]


class StandIn:
    """A Run whose build, session and data are stand-ins: what is under test is the cache."""

    def __init__(self, cache: Path, *, build="fp32-cpu-aaaa", data="d1", fmt="chat", answer_tokens=128):
        self.state = Run(config=replace(RunConfig(), cache_dir=cache, answer_tokens=answer_tokens))
        self.state.runtime_of = lambda variant_id: "0.18.0"
        self.state.eval_set = SimpleNamespace(sha256=data)
        self.state.formatter = SimpleNamespace(to_record=lambda: {"kind": fmt})
        self.state.build = lambda variant_id: SimpleNamespace(path=Path("/builds") / build)
        self.written = []
        self.state.session = lambda variant_id: SimpleNamespace(write_reference=self._write)
        self.computed = 0

    def _write(self, chunks, path):
        self.written.append(path)
        path.write_bytes(b"npz")
        return {"chunks": len(chunks)}

    def answers(self, examples=EXAMPLES):
        def compute(session):
            self.computed += 1
            return [{"id": e.id, "answer": e.reference} for e in examples]

        return answers_of_reference(self.state, "fp32-cpu", examples, compute)


def test_the_reference_answers_are_computed_once_and_rescored_each_time(tmp_path):
    first = StandIn(tmp_path)
    answers = first.answers()
    assert first.computed == 1 and [a["scores"]["exact_match"] for a in answers] == [1.0, 1.0]
    assert first.answers() == answers and first.computed == 1
    later = StandIn(tmp_path)  # another run, the same inputs: read from disk
    assert later.answers() == answers and later.computed == 0
    # scored again against the examples as they are now: the cache keeps what was said
    stricter = [replace(EXAMPLES[0], reference="four"), EXAMPLES[1]]
    assert [a["scores"]["exact_match"] for a in later.answers(stricter)] == [False, True]
    assert later.computed == 0
    files = list((tmp_path / "reference").glob("answers-*.json"))
    assert len(files) == 1


@pytest.mark.parametrize(
    "change",
    [{"build": "fp32-cpu-bbbb"}, {"data": "d2"}, {"fmt": "template"}, {"answer_tokens": 64}],
    ids=["build", "data", "format", "answer_tokens"],
)
def test_a_change_of_any_input_of_the_answers_key_recomputes_them(tmp_path, change):
    StandIn(tmp_path).answers()
    changed = StandIn(tmp_path, **change)
    changed.answers()
    assert changed.computed == 1
    assert len(list((tmp_path / "reference").glob("answers-*.json"))) == 2


def test_other_examples_get_their_own_answers(tmp_path):
    run = StandIn(tmp_path)
    run.answers()
    assert [a["id"] for a in run.answers(EXAMPLES[:1])] == ["a"] and run.computed == 2


def test_the_reference_log_probs_are_written_once_per_build_and_chunks(tmp_path):
    run = StandIn(tmp_path)
    path, written = reference_logprobs(run.state, "fp32-cpu", [[1, 2, 3]])
    assert written == {"chunks": 1} and run.written == [path] and path.suffix == ".npz"
    again, written = reference_logprobs(StandIn(tmp_path).state, "fp32-cpu", [[1, 2, 3]])
    assert again == path and written is None  # cached: nothing written, nothing reported
    other_chunks, _ = reference_logprobs(run.state, "fp32-cpu", [[1, 2, 4]])
    other_build, _ = reference_logprobs(StandIn(tmp_path, build="fp32-cpu-bbbb").state, "fp32-cpu", [[1, 2, 3]])
    assert len({path, other_chunks, other_build}) == 3
