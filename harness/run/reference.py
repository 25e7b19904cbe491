"""The reference's results every other variant is compared with, computed once and kept in the
cache: its answers to the quality examples and its 16-bit log-probs over the closeness chunks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from harness.common.cache import key_of, once
from harness.common.files import write_json_atomic
from harness.evaluation.records import Example
from harness.evaluation.scoring import score
from harness.measure.closeness import FORMAT_VERSION

if TYPE_CHECKING:
    from harness.run.run import Run


def answers_of_reference(run: Run, reference_id: str, examples: list[Example], compute) -> list[dict]:
    """The reference's answers to ``examples``: computed once (by ``compute(session)``) and
    kept in the cache, keyed on its build, the data, the prompt format and the settings;
    scored again each time (the cache keeps what was said, not how it scored)."""
    key = {
        "build": run.build(reference_id).path.name,
        "runtime": run.runtime_of(reference_id),
        "data": run.eval_set.sha256,
        "ids": [e.id for e in examples],
        "answer_tokens": run.config.answer_tokens,
        "format": run.formatter.to_record(),
        "version": 1,
    }
    path = run.config.cache_dir / "reference" / f"answers-{key_of(key)}.json"
    answers, _ = once(
        path,
        lambda p: write_json_atomic(p, compute(run.session(reference_id)), indent=None),
        lambda p: json.loads(p.read_text(encoding="utf-8")),
    )
    by_id = {e.id: e for e in examples}
    return [{**a, "scores": score(by_id[a["id"]], a["answer"])} for a in answers]


def reference_logprobs(run: Run, reference_id: str, chunks: list[list[int]]) -> tuple[Path, dict | None]:
    """The reference's 16-bit log-probs for ``chunks`` (:mod:`harness.measure.closeness`),
    written once by its worker and kept in the cache; also what writing them reported (None
    when cached)."""
    key = {
        "build": run.build(reference_id).path.name,
        "runtime": run.runtime_of(reference_id),
        "chunks": key_of(chunks, 64),
        "version": FORMAT_VERSION,
    }
    path = run.config.cache_dir / "reference" / f"logprobs-{key_of(key)}.npz"
    written: list[dict] = []

    def write(target: Path) -> None:
        run.progress(f"reference logits: {reference_id} over {len(chunks)} chunks")
        written.append(run.session(reference_id).write_reference(chunks, target))

    once(path, write, load=lambda target: target)
    return path, written[0] if written else None
