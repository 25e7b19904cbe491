"""Real builds of a tiny model: quantization read from the graph, caching, locking, toolchain keys."""

import json
import subprocess
import sys

import pytest

from harness.measure.smoke import graph_mismatches
from harness.models.sources import resolve_model
from harness.variants import build as build_module
from harness.variants import build_check as check
from harness.variants.build import build_variant, cache_key, recipe_for, toolchain
from harness.variants.genai import GenaiBuilder
from harness.variants.matrix import Variant

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def source(tiny_llama):
    return resolve_model(str(tiny_llama))


@pytest.mark.parametrize("precision, bits", [("fp32", []), ("int8", [8]), ("int4", [4])])
def test_built_graph_has_the_promised_quantization(source, build_cache, precision, bits):
    built = build_variant(Variant(precision, "cpu"), source, build_cache)
    q = built.quantization
    assert q["bits"] == bits
    if bits:
        assert q["block_sizes"] == [32]
        assert q["matmul_nbits"] == 2 * 5 + 1  # qkv, o, gate, up, down per layer + lm_head
        assert q["float_matmul"] == 0
        assert q["accuracy_levels"] == [4]  # int8 compute on cpu
    else:
        assert q["matmul_nbits"] == 0 and "float32" in q["weight_dtypes"]
    assert graph_mismatches(precision, q) == []
    assert built.size_bytes > built.weights_bytes > 0
    assert built.build_seconds > 0 and built.peak_rss_bytes > 50 * 2**20
    assert (built.path / "genai_config.json").is_file()


def test_mismatch_is_reported_when_a_graph_lies():
    fp32_graph = {
        "matmul_nbits": 0,
        "float_matmul": 11,
        "bits": [],
        "block_sizes": [],
        "weight_dtypes": {"float32": 20},
    }
    problems = graph_mismatches("int4", fp32_graph)
    assert "no MatMulNBits nodes: nothing was quantized" in problems
    float_compute = {
        "matmul_nbits": 11,
        "float_matmul": 0,
        "bits": [8],
        "block_sizes": [32],
        "accuracy_levels": [0],
        "weight_dtypes": {"float32": 2},
    }
    assert graph_mismatches("int8", float_compute, "cpu") == ["accuracy levels [0], expected [4] (int8 compute) on cpu"]
    assert graph_mismatches("int8", float_compute, "cuda") == []


def test_second_request_is_a_cache_hit(source, tmp_path):
    first = build_variant(Variant("int4", "cpu"), source, tmp_path)
    second = build_variant(Variant("int4", "cpu"), source, tmp_path)
    assert not first.cached and second.cached
    assert second.path == first.path and second.build_seconds == first.build_seconds


def test_toolchain_change_changes_the_key(source, monkeypatch):
    recipe = recipe_for(Variant("int4", "cpu"), source)
    tools = toolchain()
    newer = dict(tools, **{"onnxruntime-genai": "9.9.9"})
    assert cache_key(source, recipe, tools) != cache_key(source, recipe, newer)
    assert cache_key(source, recipe, tools) != cache_key(source, recipe_for(Variant("int8", "cpu"), source), tools)


def test_concurrent_requests_build_once(source, tmp_path):
    """Two processes (as two xdist workers would) ask for the same variant at once."""
    script = (
        "import sys, json; from pathlib import Path\n"
        "from harness.variants.build import build_variant; from harness.models.sources import resolve_model\n"
        "from harness.variants.matrix import Variant\n"
        f"b = build_variant(Variant('fp32', 'cpu'), resolve_model({str(source.path)!r}), Path({str(tmp_path)!r}))\n"
        "print(json.dumps({'cached': b.cached, 'path': str(b.path)}))\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [json.loads(p.communicate(timeout=300)[0].strip().splitlines()[-1]) for p in procs]
    assert sorted(o["cached"] for o in outputs) == [False, True]
    assert outputs[0]["path"] == outputs[1]["path"]
    assert len(list((tmp_path / "builds").glob("*-fp32-cpu-*[!k]"))) == 1  # one build folder


def test_a_failing_builder_is_a_build_error_with_its_output(source, tmp_path, monkeypatch):
    monkeypatch.setattr(
        GenaiBuilder,
        "command",
        lambda *a: [sys.executable, "-c", "import sys; print('boom from builder'); sys.exit(3)"],
    )
    with pytest.raises(build_module.BuildError) as info:
        build_variant(Variant("int4", "cpu"), source, tmp_path)
    assert "exit status 3" in str(info.value.args[0])
    assert "boom from builder" in info.value.output_tail
    assert not list((tmp_path / "builds").glob("*/build.json"))  # nothing half-built is cached


def test_a_requested_block_size_is_what_the_graph_must_show():
    from harness.measure.smoke import graph_mismatches

    q = {
        "matmul_nbits": 21,
        "bits": [4],
        "block_sizes": [32],
        "accuracy_levels": [4],
        "float_matmul": 0,
        "weight_dtypes": {"uint8": 21},
    }
    assert graph_mismatches("int4", q) == []
    assert graph_mismatches("int4", q, "cpu", block_size=128) == ["block sizes [32], expected [128]"]


def test_a_cached_build_is_verified_once_per_process_and_built_again_when_it_changed(source, tmp_path, monkeypatch):
    """One build, damaged three ways in turn (each as a new process finds it): truncated, with a
    record of an older harness (no checksums), and damaged where it cannot be put aside."""
    built = build_variant(Variant("int4", "cpu"), source, tmp_path)
    record = json.loads((built.path / "build.json").read_text())
    files = {p.name for p in built.path.iterdir() if p.name != "build.json"}
    assert set(record["files"]) == files and built.verify_seconds is None  # made here: nothing to verify
    assert built.size_bytes == sum(f["bytes"] for f in record["files"].values())
    build_module._VERIFIED.clear()  # as a new process finds it
    calls = []
    monkeypatch.setattr(build_module, "verify", lambda target: calls.append(target) or check.verify(target))
    first = build_variant(Variant("int4", "cpu"), source, tmp_path)
    again = build_variant(Variant("int4", "cpu"), source, tmp_path)
    assert first.cached and first.verify_seconds is not None and again.verify_seconds == first.verify_seconds
    assert calls == [built.path]  # hashed once in this process, not per request

    data = built.path / "model.onnx.data"
    size = data.stat().st_size
    data.write_bytes(data.read_bytes()[: size // 2])
    build_module._VERIFIED.clear()
    rebuilt = build_variant(Variant("int4", "cpu"), source, tmp_path)
    assert not rebuilt.cached and rebuilt.size_bytes == built.size_bytes and data.stat().st_size == size
    assert rebuilt.rebuilt_because == (
        f"the cached build of int4-cpu is damaged: {data} has {size // 2:,} bytes, {size:,} when it was built"
    )

    older = json.loads((built.path / "build.json").read_text())
    del older["files"]
    (built.path / "build.json").write_text(json.dumps(older))
    build_module._VERIFIED.clear()
    rebuilt = build_variant(Variant("int4", "cpu"), source, tmp_path)
    assert not rebuilt.cached and rebuilt.rebuilt_because.startswith(
        f"the cached build of int4-cpu cannot be verified: {built.path / 'build.json'} records no checksums"
    )

    recorded = json.loads((built.path / "build.json").read_text())["files"]["genai_config.json"]["bytes"]
    (built.path / "genai_config.json").write_text("{}")
    build_module._VERIFIED.clear()

    def refuse(source_path, target):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(build_module.os, "replace", refuse)
    with pytest.raises(build_module.BuildError) as info:
        build_variant(Variant("int4", "cpu"), source, tmp_path)
    assert info.value.args[0] == (
        f"the cached build of int4-cpu is damaged: {built.path / 'genai_config.json'} has 2 bytes, {recorded:,} "
        f"when it was built; it cannot be built again here (Permission denied when moving {built.path} aside): "
        f"delete {built.path}"
    )
