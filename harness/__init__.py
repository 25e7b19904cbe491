"""Precision trade-off harness for small language models on onnxruntime-genai.

The pipeline (one module per arrow): settings (:mod:`.config`) -> model source (:mod:`.sources`)
-> variants (:mod:`.variants`) -> builds (:mod:`.build`) -> sessions in worker processes
(:mod:`.session`, :mod:`.worker`) -> measurements (:mod:`.metrics`) -> results
(:mod:`.results`) -> report (:mod:`.report`). The pytest plugin (:mod:`.plugin`) wires them.
"""

from .config import PROFILES, RunConfig
from .errors import GenerationError, HarnessError, WorkerCrashed
from .session import FakeSession, GenerationTrace, Session

__all__ = ["PROFILES", "FakeSession", "GenerationError", "GenerationTrace", "HarnessError",
           "RunConfig", "Session", "WorkerCrashed"]
__version__ = "0.1.0"
