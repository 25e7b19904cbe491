"""The calibration text of a run: what GPTQ/AWQ calibrate on and what ``--search`` tunes on.

``--calibration PATH`` when given; otherwise the model's own calibration set: the embedded model's
training tickets, a preset's calibration set (``datasets/general_knowledge_calibration`` for the
SmolLM2 preset). Never the evaluation set: a variant tuned on the data that judges it would be
judged by what it was fitted to. Other models have none, and what needs one says so in one line.
"""

from __future__ import annotations

from pathlib import Path

from harness.evaluation.datasets import load_examples
from harness.models.presets import calibration_set
from harness.models.sources import ModelSource


def calibration_path(given: Path | None, source: ModelSource) -> Path | None:
    if given is not None:
        return given
    if source.kind == "embedded":
        from harness.models.embedded import DATA_DIR

        return DATA_DIR / "train.jsonl"
    return calibration_set(source)


def calibration_texts(path: Path, format_prompt, limit: int) -> list[str]:
    """The first ``limit`` records of the calibration set, each a whole formatted conversation."""
    from harness.measure.quality import conversation_text

    return [conversation_text(e, format_prompt) for e in load_examples(path).examples[:limit]]
