"""Foundry Local packages: every variant as a folder Foundry Local picks up, checked.

The package is written to ``--foundry-packages DIR`` (or a temporary folder) and must hold the
model, ``genai_config.json``, the tokenizer with its chat template, and an
``inference_model.json`` in the tutorial's format whose PromptTemplate renders the domain prompts
exactly as the model's chat template does. Runs with and without ``--benchmark``.
"""

import json

import pytest

from harness.foundry import package_name, write_package
from harness.prompts import PromptTemplate, chat_template, render_chat


@pytest.fixture(scope="session")
def foundry_dir(harness_config, tmp_path_factory):
    return harness_config.foundry_packages or tmp_path_factory.mktemp("foundry-packages")


@pytest.fixture(scope="session")
def foundry_package(variant, built_variant, model_source, harness_state, foundry_dir):
    planned = harness_state.planned_variant(variant).variant
    name = package_name(model_source.name, planned.precision, planned.builder, planned.provider)
    return write_package(built_variant.path, foundry_dir, name,
                         f"{model_source.name} {variant}, built and checked by the precision harness")


def test_foundry_package(variant, foundry_package, domain_examples, record_verdict):
    meta = json.loads((foundry_package / "inference_model.json").read_text())
    assert meta["Name"] == foundry_package.name and meta["Version"]
    assert set(meta["PromptTemplate"]) >= {"assistant", "prompt"} and meta["ModelConfig"]["max_length"] > 0
    for required in ("model.onnx", "genai_config.json", "tokenizer_config.json"):
        assert (foundry_package / required).is_file(), f"{variant}: the package lacks {required}"
    tokenizer_config = json.loads((foundry_package / "tokenizer_config.json").read_text())
    assert tokenizer_config.get("chat_template"), f"{variant}: Foundry Local needs the chat template in tokenizer_config.json"
    template = PromptTemplate(**meta["PromptTemplate"])
    own = chat_template(foundry_package)
    differing = [e.id for e in domain_examples[:20]
                 if template.render(list(e.messages)) != render_chat(list(e.messages), own)]
    record_verdict({"variant": variant, "suite": "foundry", "name": "prompt_template_matches_chat_template",
                    "passed": not differing,
                    "message": f"{foundry_package.name}: PromptTemplate renders "
                               + ("the first 20 domain prompts as the chat template does" if not differing
                                  else f"{len(differing)} of 20 domain prompts differently ({differing[0]}, ...)")})
    assert not differing, f"{variant}: the PromptTemplate renders {differing[0]} differently from the chat template"
