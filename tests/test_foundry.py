"""Foundry Local packages: names, contents and the tutorial's inference_model.json format."""

import json
import shutil

import pytest

from harness.build import build_variant
from harness.errors import HarnessError
from harness.foundry import package_name, package_run, write_package
from harness.prompts import PromptTemplate, chat_template, render_chat
from harness.sources import resolve_model
from harness.variants import Variant

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
    assert {"model.onnx", "model.onnx.data", "genai_config.json", "tokenizer.json", "tokenizer_config.json",
            "inference_model.json"} <= names and "build.json" not in names
    meta = json.loads((path / "inference_model.json").read_text())
    assert list(meta) == ["Name", "Version", "Description", "PromptTemplate", "ModelConfig"]
    assert meta["ModelConfig"]["max_length"] == 1024 and meta["ModelConfig"]["do_sample"] is False
    chat = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]
    assert PromptTemplate(**meta["PromptTemplate"]).render(chat) == render_chat(chat, chat_template(path))
    assert json.loads((path / "tokenizer_config.json").read_text())["chat_template"]
    assert "chat_template" not in json.loads((int4_build.path / "tokenizer_config.json").read_text()), \
        "the cached build must not change when its package does"
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
        package_run({"run": {"id": "r"}, "model": {"name": "m"}, "variants": [{"id": "int4-cpu", "path": None}]},
                    tmp_path)
