"""The model's own data sets: the evaluation set a run uses without ``--dataset``, and the
calibration text GPTQ/AWQ calibrate on and ``--search`` tunes on without ``--calibration``.

- evaluation: the embedded model's held-out tickets, a preset's own set (general knowledge for
  the SmolLM2 preset), the generic smoke prompts for any other model;
- calibration: the embedded model's training tickets, a preset's calibration set
  (``datasets/general_knowledge_calibration``). Never the evaluation set: a variant tuned on the
  data that judges it would be judged by what it was fitted to. Other models have none, and what
  needs one says so in one line.
"""

from __future__ import annotations

from pathlib import Path

from harness.common.shipped import datasets_root
from harness.evaluation.datasets import load_examples
from harness.evaluation.prompts import conversation_text
from harness.models.presets import PRESETS
from harness.models.sources import ModelSource

EMBEDDED_SET = "support_tickets"  # the embedded model's domain: train.jsonl and heldout.jsonl


def default_dataset(source: ModelSource) -> Path:
    """The evaluation set used when ``--dataset`` is not given."""
    shipped = datasets_root()
    if source.kind == "embedded":
        return shipped / EMBEDDED_SET / "heldout.jsonl"
    if source.kind == "preset":
        return shipped / PRESETS[source.name].dataset
    return shipped / "smoke" / "prompts.jsonl"


def calibration_path(given: Path | None, source: ModelSource) -> Path | None:
    """``--calibration`` when given, else the model's own calibration set (None: it has none)."""
    if given is not None:
        return given
    if source.kind == "embedded":
        return datasets_root() / EMBEDDED_SET / "train.jsonl"
    preset = PRESETS.get(source.name) if source.kind == "preset" else None
    if preset is None or preset.calibration is None:
        return None
    return datasets_root() / preset.calibration


def calibration_texts(path: Path, format_prompt, limit: int) -> list[str]:
    """The first ``limit`` records of the calibration set, each a whole formatted conversation."""
    return [conversation_text(e, format_prompt) for e in load_examples(path).examples[:limit]]
