"""Foundry Local model packages: per variant, a folder Foundry Local picks up.

A package holds the built model (``model.onnx`` and its data), ``genai_config.json``, the
tokenizer with its chat template in ``tokenizer_config.json`` (Foundry Local needs it there), and
``inference_model.json`` in the tutorial's format: ``Name``, ``Version``, ``Description``,
``PromptTemplate`` (``system``/``user``/``assistant``/``prompt``, derived from the model's chat
template so both render the same prompt) and ``ModelConfig`` (the generation settings of
``genai_config.json``'s ``search``). Folders are named ``<model>-<precision>``, with the recipe,
the builder and the provider added when they are not the defaults
(``support-tickets-int4-gptq``, ``support-tickets-int4-kquant``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from harness.errors import HarnessError
from harness.evaluation.prompts import DerivedTemplate, chat_template, chat_template_file, derive_prompt_template
from harness.results.view import RunResults, as_results
from harness.variants.recipes import DEFAULT_RECIPE
from harness.variants.variant import BUILDER

MODEL_FILES = ("model.onnx", "model.onnx.data", "genai_config.json")
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "tokenizer.model",
    "special_tokens_map.json",
    "chat_template.jinja",
    "added_tokens.json",
    "vocab.json",
    "merges.txt",
)
MODEL_CONFIG_KEYS = ("max_length", "do_sample", "temperature", "top_p", "top_k", "repetition_penalty")
VERSION = "1"


def package_name(
    model: str, precision: str, builder: str = BUILDER, provider: str = "cpu", recipe: str = DEFAULT_RECIPE
) -> str:
    parts = (
        [model, precision]
        + ([recipe.replace("_", "-")] if recipe != DEFAULT_RECIPE else [])
        + ([builder] if builder != BUILDER else [])
        + ([provider] if provider != "cpu" else [])
    )
    return "-".join(parts)


def prompt_template(build_dir: Path, conversations: list[list[dict]] | None = None) -> DerivedTemplate:
    """The PromptTemplate of a built variant's package, derived from its chat template for the
    kind of chats ``conversations`` are (:func:`harness.evaluation.prompts.derive_prompt_template`)."""
    template = chat_template(build_dir)
    if template is None:
        raise HarnessError(f"{build_dir}: the model has no chat template; Foundry Local needs one")
    return derive_prompt_template(template, conversations, str(chat_template_file(build_dir)))


def inference_model(
    name: str, description: str, build_dir: Path, conversations: list[list[dict]] | None = None
) -> dict:
    """The tutorial's inference_model.json for a built variant."""
    derived = prompt_template(build_dir, conversations)
    search = json.loads((build_dir / "genai_config.json").read_text(encoding="utf-8")).get("search", {})
    return {
        "Name": name,
        "Version": VERSION,
        "Description": description,
        "PromptTemplate": derived.template.to_json(),
        "ModelConfig": {key: search[key] for key in MODEL_CONFIG_KEYS if key in search},
    }


def write_package(
    build_dir: Path, out_dir: Path, name: str, description: str, conversations: list[list[dict]] | None = None
) -> Path:
    """Copy a built variant into ``out_dir/name`` as a Foundry Local package (replacing an older
    package of that name); return the folder. ``conversations``: the chats it will serve, which
    decide the PromptTemplate of a chat template with a default system message."""
    target = out_dir / name
    staging = out_dir / f".{name}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for file in MODEL_FILES + TOKENIZER_FILES:
        if (build_dir / file).is_file():
            shutil.copy2(build_dir / file, staging / file)
    missing = [
        f for f in MODEL_FILES[:1] + ("genai_config.json", "tokenizer_config.json") if not (staging / f).is_file()
    ]
    if missing:
        shutil.rmtree(staging)
        raise HarnessError(f"{build_dir}: cannot package it, {', '.join(missing)} missing")
    tokenizer_config = json.loads((staging / "tokenizer_config.json").read_text(encoding="utf-8"))
    if "chat_template" not in tokenizer_config:  # Foundry Local reads it from there only
        tokenizer_config["chat_template"] = chat_template(build_dir)
        (staging / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2) + "\n", encoding="utf-8")
    (staging / "inference_model.json").write_text(
        json.dumps(inference_model(name, description, build_dir, conversations), indent=2) + "\n", encoding="utf-8"
    )
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def package_run(results: RunResults | dict, out_dir: Path) -> list[Path]:
    """A package for every variant of a run whose build is still in the cache."""
    results = as_results(results)
    model = results.model.get("name", "model")
    written = []
    for variant in results.variants:
        path = variant.record.get("path")
        if not path or not (Path(path) / "genai_config.json").is_file():
            continue
        name = package_name(
            model,
            variant.precision,
            variant.builder or BUILDER,
            variant.provider,
            variant.record.get("quantization_recipe", DEFAULT_RECIPE),
        )
        bits = (variant.record.get("quantization") or {}).get("bits", [])
        description = (
            f"{model} {variant.id}: {variant.status} in harness run {results.run_id}; "
            f"quantization {json.dumps(bits)} bits"
        )
        written.append(write_package(Path(path), out_dir, name, description))
    if not written:
        raise HarnessError(f"run {results.run_id}: no variant with a build still in the cache to package")
    return written
