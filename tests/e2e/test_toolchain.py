"""The environments hold together and stay apart: the main one has the runtime that ships and its
builder; Olive builds in a toolchain of its own (olive-ai 0.13.0 with onnxruntime-genai 0.14.1),
which the harness prepares in its cache, and which sees nothing of the main environment."""

import os
import subprocess
from importlib import metadata

import pytest

from harness.common import toolchains
from harness.errors import HarnessError
from harness.runtime.client import WorkerSession
from harness.runtime.protocol import SessionSpec
from harness.variants.graph import quantization_summary

pytestmark = pytest.mark.slow


def _in_toolchain(toolchain, cache, code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in the toolchain; -P: not from this folder (the repository holds harness/)."""
    return subprocess.run(
        [str(toolchain.python(cache)), "-P", "-c", code],
        capture_output=True,
        text=True,
        env=toolchains.environment(toolchain, cache),
        timeout=120,
    )


def test_the_main_environment_holds_the_runtime_that_ships_and_no_olive():
    assert metadata.version("onnxruntime-genai") == "0.18.0"
    assert metadata.version("onnxruntime") == "1.31.0"
    assert metadata.version("torch").startswith("2.13.0")
    with pytest.raises(metadata.PackageNotFoundError):
        metadata.version("olive-ai")


def test_the_olive_toolchain_has_its_pins_and_nothing_of_the_main_environment(olive_python, build_cache):
    found = _in_toolchain(
        toolchains.OLIVE,
        build_cache,
        (
            "import importlib.metadata as m, json; "
            "print(json.dumps({p: m.version(p) for p in ('olive-ai', 'onnxruntime-genai', 'onnxruntime', 'torch')}))"
        ),
    )
    assert found.returncode == 0, found.stderr[-2000:]
    assert found.stdout.strip() == (
        '{"olive-ai": "0.13.0", "onnxruntime-genai": "0.14.1", "onnxruntime": "1.31.0", "torch": "2.13.0+cpu"}'
    )
    leak = _in_toolchain(toolchains.OLIVE, build_cache, "import harness")  # the main environment's package
    assert leak.returncode != 0 and "No module named 'harness'" in leak.stderr


def test_olive_auto_opt_in_its_toolchain_builds_an_int4_model_the_runtime_that_ships_answers_with(
    olive_python, build_cache, tiny_qwen2, tmp_path
):
    """The tutorial's one-command path, from an empty Olive cache, offline; the graph that Olive's
    0.14.1 builder makes loads and generates in the main environment's 0.18.0 runtime."""
    out = tmp_path / "olive-int4"
    env = toolchains.environment(toolchains.OLIVE, build_cache, {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    result = subprocess.run(
        [
            str(olive_python),
            "-m",
            "olive",
            "auto-opt",
            "--model_name_or_path",
            str(tiny_qwen2),
            "--device",
            "cpu",
            "--provider",
            "CPUExecutionProvider",
            "--use_model_builder",
            "--precision",
            "int4",
            "--output_path",
            str(out),
            "--log_level",
            "3",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    q = quantization_summary(out / "model.onnx")
    assert q["matmul_nbits"] > 0 and q["bits"] == [4]
    session = WorkerSession(SessionSpec(model_dir=str(out), max_length=64), "int4-olive-cpu", timeout=120)
    try:
        trace = session.generate([5, 6, 7, 8], max_new_tokens=6, min_new_tokens=6)
    finally:
        session.close()
    assert trace.new_tokens == 6


def test_without_a_package_index_one_line_names_the_missing_package_and_the_command(tmp_path, monkeypatch):
    # no pip configuration (its index and wheel folders), no index: what a machine offline sees
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    chain = toolchains.runtime("0.14.1")
    with pytest.raises(HarnessError) as caught:
        toolchains.prepare(chain, tmp_path)
    message = str(caught.value)
    assert "\n" not in message
    assert "toolchain runtime-0.14.1 could not install its packages: pip found no onnxruntime-genai==0.14.1" in message
    assert message.endswith(f"run: python -m harness toolchain runtime-0.14.1 --cache-dir {tmp_path}")
    assert not chain.folder(tmp_path).exists()  # nothing half-made is left to be taken for ready


def test_a_runtime_version_the_index_does_not_have_is_named_with_the_nearest_it_has(tmp_path):
    """The index answered and has no such release: that is what the line says (not 'no index
    reachable'), with the nearest releases it does have."""
    chain = toolchains.runtime("9.9.9")
    with pytest.raises(HarnessError) as caught:
        toolchains.prepare(chain, tmp_path)
    message = str(caught.value)
    assert message.startswith(
        "toolchain runtime-9.9.9: onnxruntime-genai 9.9.9 does not exist on the package index "
        "(nearest releases it has: "
    )
    assert "0.18.0" in message and "\n" not in message and "reachable" not in message
    assert not chain.folder(tmp_path).exists()
