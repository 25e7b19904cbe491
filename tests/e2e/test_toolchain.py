"""The pinned environment holds together: Olive's ModelBuilder path, the genai builder (all four
precisions, INT8 through onnxruntime's quantizer) and the runtime, in one virtual environment."""

import os
import shutil
import subprocess
from importlib import metadata

import pytest

from harness.runtime.client import WorkerSession
from harness.runtime.protocol import SessionSpec
from harness.variants.graph import quantization_summary

pytestmark = pytest.mark.slow


def test_pinned_versions_are_the_ones_installed():
    assert metadata.version("olive-ai") == "0.13.0"
    assert metadata.version("onnxruntime-genai") == "0.14.1"
    assert metadata.version("onnxruntime") == "1.31.0"
    assert metadata.version("torch").startswith("2.13.0")


def test_olive_auto_opt_builds_an_int4_model_the_runtime_answers_with(tiny_qwen2, tmp_path):
    """The tutorial's one-command path, from an empty Olive cache, offline."""
    olive = shutil.which("olive", path=os.path.dirname(os.sys.executable))
    assert olive, "the olive command is not installed in this environment"
    out = tmp_path / "olive-int4"
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    result = subprocess.run(
        [olive, "auto-opt", "--model_name_or_path", str(tiny_qwen2), "--device", "cpu",
         "--provider", "CPUExecutionProvider", "--use_model_builder", "--precision", "int4",
         "--output_path", str(out), "--log_level", "3"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    q = quantization_summary(out / "model.onnx")
    assert q["matmul_nbits"] > 0 and q["bits"] == [4]
    session = WorkerSession(SessionSpec(model_dir=str(out), max_length=64), "int4-olive-cpu", timeout=120)
    try:
        trace = session.generate([5, 6, 7, 8], max_new_tokens=6, min_new_tokens=6)
    finally:
        session.close()
    assert trace.new_tokens == 6
