"""FP16 on the CPU provider: the stock build of a GQA model still fails (the guard that tells us
when the correction can be retired), each correction decodes FP32's greedy tokens from float16
weights, and the correction is stated and keyed."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from harness.errors import GenerationError
from harness.models.sources import resolve_model
from harness.runtime.protocol import SessionSpec
from harness.runtime.session import open_session
from harness.variants import fp16_cpu
from harness.variants.build import build_variant, cache_key, recipe_for, toolchain
from harness.variants.builder import BuildInputs
from harness.variants.matrix import Variant

pytestmark = pytest.mark.slow
PROMPT = "What is the capital of France?"


def _greedy(model_dir: Path, ids: list[int], n: int = 8) -> list[int]:
    session = open_session(SessionSpec(model_dir=str(model_dir), max_length=128))
    try:
        return list(session.generate(ids, max_new_tokens=n, min_new_tokens=n).tokens)
    finally:
        session.close()


@pytest.fixture(scope="module")
def gqa_source(tiny_llama):
    source = resolve_model(str(tiny_llama))
    assert source.uses_gqa  # 4 attention heads, 2 key/value heads
    return source


@pytest.fixture(scope="module")
def stock_fp16(gqa_source, tmp_path_factory) -> Path:
    """The builder's own fp16 CPU output, untouched."""
    out = tmp_path_factory.mktemp("stock") / "fp16"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "onnxruntime_genai.models.builder",
            "-i",
            str(gqa_source.path),
            "-o",
            str(out),
            "-p",
            "fp16",
            "-e",
            "cpu",
            "-c",
            str(out.parent / "hf"),
        ],
        check=True,
        capture_output=True,
    )
    return out


def test_the_stock_fp16_cpu_build_still_fails_at_the_first_decode_step(stock_fp16, gqa_source, build_cache):
    fp32 = build_variant(Variant("fp32", "cpu"), gqa_source, build_cache)
    ids = open_session(SessionSpec(model_dir=str(fp32.path), max_length=128)).encode(PROMPT)
    session = open_session(SessionSpec(model_dir=str(stock_fp16), max_length=128))
    try:
        first = session.generate(ids, max_new_tokens=1)  # the prefill works: the past is empty
        assert first.new_tokens == 1
        try:
            session.generate(ids, max_new_tokens=4, min_new_tokens=4)
        except GenerationError as exc:
            assert "Shape mismatch attempting to re-use buffer" in exc.message
            return
    finally:
        session.close()
    pytest.fail(
        f"onnxruntime-genai {metadata.version('onnxruntime-genai')}'s stock fp16 cpu build of a GQA model "
        f"now decodes: the harness's correction (harness/variants/fp16_cpu.py) can be retired",
        pytrace=False,
    )


@pytest.mark.parametrize("fix", fp16_cpu.FIXES)
def test_each_correction_decodes_fp32s_greedy_tokens_from_float16_weights(fix, gqa_source, build_cache):
    import onnx

    fp32 = build_variant(Variant("fp32", "cpu"), gqa_source, build_cache)
    built = build_variant(Variant("fp16", "cpu"), gqa_source, build_cache, inputs=BuildInputs(fp16_cpu_fix=fix))
    ids = open_session(SessionSpec(model_dir=str(fp32.path), max_length=128)).encode(PROMPT)
    assert _greedy(built.path, ids) == _greedy(fp32.path, ids)
    graph = onnx.load(str(built.path / "model.onnx"), load_external_data=False).graph
    matrices = {init.name: init.data_type for init in graph.initializer if len(init.dims) >= 2}
    assert matrices and set(matrices.values()) == {onnx.TensorProto.FLOAT16}, matrices  # really fp16
    assert built.quantization["weight_dtypes"] == {"float16": len(matrices)}
    correction = built.correction
    assert correction["name"] == fix and correction["version"] == fp16_cpu.VERSION and correction["changed"] > 0
    assert correction["statement"].startswith(f"harness correction '{fix}' v{fp16_cpu.VERSION}: ")
    assert "total_sequence_length" in correction["statement"]  # the reason, in words a user can check
    attention = {n.op_type for n in graph.node} & {"GroupQueryAttention", "MultiHeadAttention"}
    assert attention == ({"GroupQueryAttention"} if fix == "gqa" else {"MultiHeadAttention"})


def test_relabel_changes_only_the_wrong_labels(stock_fp16, tmp_path):
    import shutil

    import onnx

    copy = tmp_path / "model.onnx"
    shutil.copy(stock_fp16 / "model.onnx", copy)
    before = onnx.load(str(copy), load_external_data=False).graph
    changed = fp16_cpu.relabel(copy)
    after = onnx.load(str(copy), load_external_data=False).graph
    assert changed > 0
    assert [(n.op_type, list(n.input), list(n.output)) for n in after.node] == [
        (n.op_type, list(n.input), list(n.output)) for n in before.node
    ]
    assert [(i.name, i.data_type) for i in after.initializer] == [(i.name, i.data_type) for i in before.initializer]
    labels = {vi.name: [d.dim_param or d.dim_value for d in vi.type.tensor_type.shape.dim] for vi in after.value_info}
    old = {vi.name: [d.dim_param or d.dim_value for d in vi.type.tensor_type.shape.dim] for vi in before.value_info}
    expand = "/model/layers.0/attn/k_proj/repeat_kv/Expand/output_0"
    assert "sequence_length" in old[expand] and "total_sequence_length" in labels[expand]
    query = "/model/layers.0/attn/q_proj/MatMul/output_0"  # before the concatenation: left alone
    assert labels[query] == old[query] == ["batch_size", "sequence_length", 64]
    differing = sum(a != b for name in labels for a, b in zip(labels[name], old[name]))
    assert differing == changed
    assert fp16_cpu.relabel(copy) == 0  # nothing left to correct


def test_a_new_correction_version_is_a_new_build(gqa_source, monkeypatch):
    tools = toolchain()
    fp16 = Variant("fp16", "cpu")
    first = cache_key(gqa_source, recipe_for(fp16, gqa_source), tools)
    assert first != cache_key(gqa_source, recipe_for(fp16, gqa_source, BuildInputs(fp16_cpu_fix="relabel")), tools)
    monkeypatch.setattr(fp16_cpu, "VERSION", fp16_cpu.VERSION + 1)
    assert cache_key(gqa_source, recipe_for(fp16, gqa_source), tools) != first


def test_olive_refuses_fp16_for_cpu_and_the_plan_says_so(tmp_path, build_cache, olive_python):
    from harness.common import toolchains
    from harness.variants.matrix import plan
    from harness.variants.olive import command

    source = resolve_model("embedded")
    planned = {p.id: p for p in plan(("fp16",), ("cpu",), source, available=("cpu",), builders=("genai", "olive"))}
    assert planned["fp16-cpu"].supported
    assert (
        not planned["fp16-olive-cpu"].supported and "FP16 is not supported on CPU." in planned["fp16-olive-cpu"].reason
    )
    # what Olive itself does when asked: its ModelBuilder pass is pruned and no model comes out
    out, work = tmp_path / "out", tmp_path / "olive"
    work.mkdir()
    python = toolchains.prepare(toolchains.OLIVE, build_cache)
    done = subprocess.run(
        command(python, "fp16", "cpu", source.path, out, work, None) + ["--log_level", "1"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
        env=toolchains.environment(toolchains.OLIVE, build_cache),
    )
    assert "FP16 is not supported on CPU." in done.stdout + done.stderr
    assert not (out / "model.onnx").exists()


def test_the_fixes_command_measures_both_corrections_against_fp32(tmp_path, build_cache):
    import json

    out = tmp_path / "fixes.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness",
            "fp16-fixes",
            "--model",
            "embedded",
            "--rounds",
            "1",
            "--cache-dir",
            str(build_cache),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {row["variant"]: row for row in json.loads(out.read_text())["rows"]}
    assert list(rows) == ["fp32", *(f"fp16 ({fix})" for fix in fp16_cpu.FIXES)]
    for fix in fp16_cpu.FIXES:
        row = rows[f"fp16 ({fix})"]
        assert row["correction"]["name"] == fix and set(row["weight_dtypes"]) == {"float16"}
        assert 0 < row["kld_mean"] < 1e-3 and row["top1_agreement"] > 0.99 and row["scored_tokens"] > 0
        assert row["decode_tps"] > 0 and row["peak_rss_bytes"] > 0
        assert row["size_bytes"] < 0.6 * rows["fp32"]["size_bytes"]
        assert f"| fp16 ({fix}) | 2 |" in done.stdout
    assert rows["fp32"]["kld_mean"] is None and rows["fp32"]["same_greedy_prefix"] == 64


def test_the_fixes_command_refuses_a_model_without_gqa_in_one_line(tmp_path):
    import json

    sys.path.insert(0, str(Path(__file__).parent))
    from tiny_models import make_tiny_model

    folder = make_tiny_model(tmp_path / "mha", "llama")
    config = json.loads((folder / "config.json").read_text())
    config["num_key_value_heads"] = config["num_attention_heads"]
    (folder / "config.json").write_text(json.dumps(config))
    done = subprocess.run(
        [sys.executable, "-m", "harness", "fp16-fixes", "--model", str(folder), "--cache-dir", str(tmp_path / "cache")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "error: mha has no grouped-query attention: its fp16 cpu build needs no correction"
    )
