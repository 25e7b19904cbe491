"""Foundry Local packages: names, contents and the tutorial's inference_model.json format."""

import json
import shutil

import pytest

from harness.errors import HarnessError
from harness.evaluation.prompts import PromptTemplate, chat_template, render_chat
from harness.models.sources import resolve_model
from harness.ship.foundry import package_name, package_run, write_package
from harness.variants.build import build_variant
from harness.variants.matrix import Variant

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def int4_build(build_cache):
    return build_variant(Variant("int4", "cpu"), resolve_model("embedded"), build_cache)


def test_names_follow_model_and_precision():
    assert package_name("support-tickets", "int4") == "support-tickets-int4"
    assert package_name("support-tickets", "int4", "gptq") == "support-tickets-int4-gptq"
    assert package_name("m", "fp16", "genai", "cuda") == "m-fp16-cuda"


def test_a_package_holds_the_model_the_tokenizer_and_the_tutorials_json(int4_build, tmp_path):
    path = write_package(int4_build.path, tmp_path, "support-tickets-int4", "test package")
    assert path == tmp_path / "support-tickets-int4"
    names = {p.name for p in path.iterdir()}
    assert {
        "model.onnx",
        "model.onnx.data",
        "genai_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "inference_model.json",
    } <= names and "build.json" not in names
    meta = json.loads((path / "inference_model.json").read_text())
    assert list(meta) == ["Name", "Version", "Description", "PromptTemplate", "ModelConfig"]
    assert meta["ModelConfig"]["max_length"] == 1024 and meta["ModelConfig"]["do_sample"] is False
    chat = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]
    assert PromptTemplate(**meta["PromptTemplate"]).render(chat) == render_chat(chat, chat_template(path))
    assert json.loads((path / "tokenizer_config.json").read_text())["chat_template"]
    assert "chat_template" not in json.loads((int4_build.path / "tokenizer_config.json").read_text()), (
        "the cached build must not change when its package does"
    )
    # copies, not hard links: onnx refuses to load external data with several links
    assert (int4_build.path / "model.onnx.data").stat().st_nlink == 1
    write_package(int4_build.path, tmp_path, "support-tickets-int4", "again")  # replaces, never mixes
    assert json.loads((path / "inference_model.json").read_text())["Description"] == "again"


def test_a_model_without_a_chat_template_cannot_be_packaged(int4_build, tmp_path):
    bare = tmp_path / "bare"
    shutil.copytree(int4_build.path, bare)
    (bare / "chat_template.jinja").unlink()
    config = json.loads((bare / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (bare / "tokenizer_config.json").write_text(json.dumps(config))
    with pytest.raises(HarnessError, match="no chat template; Foundry Local needs one"):
        write_package(bare, tmp_path / "out", "x", "y")


def test_a_run_without_builds_has_nothing_to_package(tmp_path):
    with pytest.raises(HarnessError, match="no variant with a build still in the cache"):
        package_run(
            {"run": {"id": "r"}, "model": {"name": "m"}, "variants": [{"id": "int4-cpu", "path": None}]}, tmp_path
        )


@pytest.fixture(scope="module")
def foundry_run(tmp_path_factory, build_cache):
    from suites_run import load, run_suites

    root = tmp_path_factory.mktemp("foundry-run")
    result = run_suites(
        "-k",
        "foundry",
        "--precisions",
        "fp32,int4",
        "--foundry-packages",
        str(root / "models"),
        "--reports-dir",
        str(root / "reports"),
        "--cache-dir",
        str(build_cache),
    )
    assert result.returncode == 0, result.stdout[-3000:]
    return root, load(root / "reports")


def test_the_suites_write_and_check_a_package_per_variant(foundry_run):
    root, results = foundry_run
    assert sorted(p.name for p in (root / "models").iterdir()) == ["support-tickets-fp32", "support-tickets-int4"]
    verdicts = {(v["variant"], v["name"]): v for v in results["verdicts"]}
    for variant in ("fp32-cpu", "int4-cpu"):
        assert verdicts[(variant, "prompt_template_matches_chat_template")]["passed"]


def test_packages_answer_through_foundry_local_like_the_harness(foundry_run):
    pytest.importorskip(
        "foundry_local_sdk",
        reason="foundry-local-sdk is not installed: tools/run-tests installs it (or pip install -e '.[foundry]')",
    )
    _, results = foundry_run
    measured = {(m["variant"], m["name"]): m for m in results["measurements"]}
    for variant in ("fp32-cpu", "int4-cpu"):
        assert measured[(variant, "foundry_same_answer")]["value"] == 1.0  # greedy, same prompt, same answers
        assert measured[(variant, "foundry_exact_match")]["stats"]["n"] == 10
        assert measured[(variant, "foundry_json_schema")]["value"] == 1.0  # the answer format holds
        assert measured[(variant, "foundry_e2e_ms")]["value"] > 0 and measured[(variant, "harness_e2e_ms")]["value"] > 0
        # the latency split, both sides on one release: before the first token and per later token
        for side in ("foundry", "harness"):
            for part in ("first_token_ms", "per_token_ms"):
                record = measured[(variant, f"{side}_{part}")]
                assert record["value"] > 0 and record["foundry_runtime"] == record["harness_runtime"] == "0.18.0"
        first = measured[(variant, "harness_first_token_ms")]
        assert set(first["parts_ms"]) == {"tokenize", "setup", "ttft"}
        assert first["parts_ms"]["setup"] > 0  # creating the generator is timed, not left out
        # the first token is made of its parts: their medians add up to about the median of their sums
        assert 0.5 < sum(first["parts_ms"].values()) / first["value"] < 1.5
