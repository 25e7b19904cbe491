"""Precision trade-off harness for small language models on onnxruntime-genai.

The pipeline (one module per arrow): settings (:mod:`.config`) -> model source (:mod:`.sources`)
and evaluation set (:mod:`.data`, :mod:`.prompts`) -> variants (:mod:`.variants`) -> builds
(:mod:`.build`, :mod:`.olive_build`) -> sessions in worker processes (:mod:`.session`,
:mod:`.worker`) -> measurements (:mod:`.metrics`, :mod:`.perf`, :mod:`.quality`,
:mod:`.closeness`) -> gates (:mod:`.gates`) -> results (:mod:`.results`) -> report
(:mod:`.report`, :mod:`.tables`, :mod:`.plots`, :mod:`.recommend`) and packages
(:mod:`.foundry`). The pytest plugin (:mod:`.plugin`, with :mod:`.state`) wires them.
"""

from harness.errors import GenerationError, HarnessError, WorkerCrashed
from harness.runtime.fake import FakeSession
from harness.runtime.protocol import Session
from harness.runtime.trace import GenerationTrace
from harness.settings.config import PROFILES, RunConfig

__all__ = ["PROFILES", "FakeSession", "GenerationError", "GenerationTrace", "HarnessError",
           "RunConfig", "Session", "WorkerCrashed"]
__version__ = "0.1.0"
