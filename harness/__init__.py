"""Precision trade-off harness for small language models on onnxruntime-genai.

The pipeline, one sub-package per stage: :mod:`.settings` -> :mod:`.models` (the model source) and
:mod:`.evaluation` (the evaluation set, checks, prompt formats) -> :mod:`.variants` (the matrix,
builders, builds) -> :mod:`.runtime` (sessions in worker processes) -> :mod:`.measure` (records,
statistics, the metric registry, each suite's logic) -> :mod:`.gates` -> :mod:`.results` ->
:mod:`.report` -> :mod:`.ship` (recommendation, Foundry Local packages). :mod:`.run` drives them
once per run without pytest, the pytest plugin (:mod:`.plugin`) adapts it to pytest, and
:mod:`.common` holds the helpers every stage uses. A finished run is read back, typed, with
:func:`harness.results.view.read`.
"""

from harness.errors import GenerationError, HarnessError, WorkerCrashed
from harness.measure.trace import GenerationTrace
from harness.runtime.fake import FakeSession
from harness.runtime.protocol import Session
from harness.settings.config import PROFILES, RunConfig

__all__ = [
    "PROFILES",
    "FakeSession",
    "GenerationError",
    "GenerationTrace",
    "HarnessError",
    "RunConfig",
    "Session",
    "WorkerCrashed",
]
__version__ = "0.1.0"
