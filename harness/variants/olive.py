"""Olive as a builder: the tutorial's two paths, run offline in a subprocess.

- ``auto-opt`` (the tutorial's one command): ``olive auto-opt -m MODEL -o OUT --device cpu
  --provider CPUExecutionProvider --use_model_builder --precision P``;
- ``recipe`` (``--olive-recipe FILE``, the tutorial's ``olive run --config`` JSON): the harness fills in
  ``input_model.model_path``, ``output_dir``, ``cache_dir`` and the precision of every
  ``ModelBuilder`` pass, and runs it.

Olive runs in its own toolchain (:data:`harness.common.toolchains.OLIVE`: olive-ai 0.13.0 with
onnxruntime-genai 0.14.1, the only release its ModelBuilder pass works with), never in the main
environment, whose onnxruntime-genai is the runtime that ships. It runs in a fresh temporary folder with its cache
inside it, so Olive's own cache can never
return a model an older toolchain built (it did, with olive-ai 0.13.0); the harness's build cache keys on the recipe
and the toolchain, olive-ai included.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from harness.common import toolchains
from harness.common.toolchains import OLIVE
from harness.errors import BuildError, HarnessError, read_json
from harness.variants.builder import BLOCK_SIZE, Builder, BuildInputs, Workspace, run_step

if TYPE_CHECKING:
    from harness.models.sources import ModelSource
    from harness.variants.variant import Variant

PRECISIONS = ("fp32", "fp16", "int4")  # what Olive's ModelBuilder pass can ask of onnxruntime-genai 0.14.1
CALIBRATION_SAMPLES = 128  # calibration texts given to GPTQ/AWQ
CALIBRATION_MAX_TOKENS = 256
DEVICES = {
    "cpu": ("cpu", "CPUExecutionProvider"),
    "cuda": ("gpu", "CUDAExecutionProvider"),
    "dml": ("gpu", "DmlExecutionProvider"),
    "webgpu": ("gpu", "WebGpuExecutionProvider"),
}
# olive-ai release -> the onnxruntime-genai releases its ModelBuilder pass works with, and how the
# others fail (each pair tried on this machine type, November 2026)
WORKS_WITH = {"0.13.0": ("0.14.",)}
KNOWN_FAILURES = {
    "0.15.": "its ModelBuilder pass fails with KeyError: 'hf_details'",
    "0.16.": "its ModelBuilder pass fails with ModuleNotFoundError: onnxruntime_genai.models.quantized_model",
    "0.17.": "its ModelBuilder pass fails with ModuleNotFoundError: onnxruntime_genai.models.quantized_model",
    "0.18.": "its ModelBuilder pass fails with ModuleNotFoundError: onnxruntime_genai.models.quantized_model",
}


def toolchain_problem(olive: str | None = None, genai: str | None = None) -> str | None:
    """Why this Olive cannot build with this onnxruntime-genai (None: it can), in one line with the
    versions that work together; by default, the pins of the Olive toolchain."""
    olive = olive if olive is not None else OLIVE.versions().get("olive-ai")
    genai = genai if genai is not None else OLIVE.versions().get("onnxruntime-genai")
    if olive is None:
        return "olive-ai is not installed (pip install olive-ai==0.13.0 requests)"
    good = WORKS_WITH.get(olive)
    if good is None:
        return (
            f"olive-ai {olive} is not a version this harness has verified; olive-ai 0.13.0 with "
            f"onnxruntime-genai 0.14.1 works"
        )
    if genai is None or not genai.startswith(good):
        known = next((why for prefix, why in KNOWN_FAILURES.items() if genai and genai.startswith(prefix)), None)
        return (
            f"olive-ai {olive} does not build with onnxruntime-genai {genai}"
            + (f" ({known})" if known else "")
            + "; olive-ai 0.13.0 works with onnxruntime-genai 0.14.1"
        )
    return None


def read_recipe(path: Path) -> dict:
    """A recipe file (Olive's ``run --config`` JSON) with at least one ModelBuilder pass."""
    recipe = read_json(path, "recipe", "--olive-recipe")
    passes = recipe.get("passes") if isinstance(recipe, dict) else None
    if not isinstance(passes, dict) or not any(
        isinstance(p, dict) and p.get("type") == "ModelBuilder" for p in passes.values()
    ):
        raise HarnessError(f"{path}: the recipe has no ModelBuilder pass under 'passes' (option --olive-recipe)")
    if not isinstance(recipe.get("input_model"), dict):
        raise HarnessError(f"{path}: the recipe has no 'input_model' object (option --olive-recipe)")
    return recipe


def requested_block_size(recipe: dict | None) -> int | None:
    """The INT4 block size a recipe asks its ModelBuilder pass for (None: the builder's default)."""
    for spec in (recipe or {}).get("passes", {}).values():
        if isinstance(spec, dict) and spec.get("type") == "ModelBuilder":
            config = spec.get("config") or {}
            size = (config.get("quantization_config") or {}).get("block_size") or config.get("int4_block_size")
            if size:
                return int(size)
    return None


def filled_recipe(recipe: dict, model_path: Path, out: Path, cache: Path, precision: str) -> dict:
    filled = copy.deepcopy(recipe)
    filled["input_model"]["model_path"] = str(model_path)
    filled["output_dir"] = str(out)
    filled["cache_dir"] = str(cache)
    for spec in filled["passes"].values():
        if isinstance(spec, dict) and spec.get("type") == "ModelBuilder":
            spec.setdefault("config", {})["precision"] = precision
    return filled


def calibrated_recipe(algorithm: str, calibration: Path, block_size: int) -> dict:
    """An Olive recipe: ``algorithm`` (GPTQ or AWQ, 4 bits) on the PyTorch model with the local
    calibration texts (never the Hub data set Olive reaches for by default), then ModelBuilder."""
    quantizer = {
        "gptq": {"type": "Gptq", "bits": 4, "group_size": block_size},
        "awq": {"type": "AutoAWQQuantizer", "w_bit": 4, "q_group_size": block_size},
    }[algorithm]
    return {
        "input_model": {"type": "HfModel", "model_path": "filled in"},
        "data_configs": [
            {
                "name": "calibration",
                "type": "HuggingfaceContainer",
                "load_dataset_config": {"data_name": "json", "data_files": [str(calibration)], "split": "train"},
                "pre_process_data_config": {
                    "text_cols": "text",
                    "max_seq_len": CALIBRATION_MAX_TOKENS,
                    "max_samples": CALIBRATION_SAMPLES,
                    "add_special_tokens": False,
                },
            }
        ],
        "passes": {
            algorithm: {**quantizer, "data_config": "calibration"},
            "builder": {"type": "ModelBuilder", "precision": "int4"},
        },
    }


def calibrated_problem(algorithm: str, provider: str) -> str | None:
    """Why a calibrated variant cannot be built here (None: it can)."""
    if algorithm == "awq" and "autoawq" not in OLIVE.versions():
        return (
            "Olive's AWQ pass needs the autoawq package, which the Olive toolchain does not hold (its "
            "kernels target CUDA GPUs)"
        )
    return None


def command(
    python: Path,
    precision: str,
    provider: str,
    model_path: Path,
    out: Path,
    work: Path,
    recipe: dict | None,
    calibration: list[str] | None = None,
    algorithm: str | None = None,
) -> list[str]:
    """The Olive command for one variant, run by the Olive toolchain's ``python``; ``work`` is its
    fresh working folder (Olive's cache).
    ``algorithm`` (gptq, awq) with ``calibration`` texts makes a calibrated INT4 variant."""
    if algorithm is not None:
        data = work / "calibration.jsonl"
        data.write_text("".join(json.dumps({"text": text}) + "\n" for text in calibration), encoding="utf-8")
        recipe = calibrated_recipe(algorithm, data, 32)
    if recipe is not None:
        config = work / "recipe.json"
        config.write_text(
            json.dumps(filled_recipe(recipe, model_path, out, work / "olive-cache", precision), indent=2),
            encoding="utf-8",
        )
        return [str(python), "-m", "olive", "run", "--config", str(config), "--log_level", "3"]
    device, provider_name = DEVICES[provider]
    return [
        str(python),
        "-m",
        "olive",
        "auto-opt",
        "-m",
        str(model_path),
        "-o",
        str(out),
        "--device",
        device,
        "--provider",
        provider_name,
        "--precision",
        precision,
        "--use_model_builder",
        "--log_level",
        "3",
    ]


class OliveBuilder(Builder):
    """Olive in its own toolchain: ``olive`` (auto-opt, or ``--olive-recipe``), and the calibrated INT4
    methods ``gptq`` and ``awq`` (a recipe of the harness's, on ``--calibration`` text)."""

    def __init__(
        self, name: str, precisions: tuple[str, ...], description: str, hatch: str, calibrated: bool = False
    ) -> None:
        self.name, self.precisions, self.description, self.hatch = name, precisions, description, hatch
        self.calibrated = calibrated

    def toolchain(self) -> dict:
        return {"toolchain": OLIVE.name, **OLIVE.versions()}

    def unsupported(self, variant: Variant) -> str:
        if self.calibrated:
            problem = calibrated_problem(self.name, variant.provider)
            if problem:
                return problem
        if variant.precision not in self.precisions:
            return (
                f"the olive builder makes {', '.join(self.precisions)}: its ModelBuilder pass drives "
                f"onnxruntime-genai 0.14.1's builder, which has no {variant.precision}"
            )
        if variant.precision == "fp16" and variant.provider == "cpu":
            return (
                "Olive's ModelBuilder pass refuses fp16 for cpu in its own config check ('FP16 is not "
                "supported on CPU.') and builds nothing; the genai builder's fp16-cpu is the FP16 variant here"
            )
        return toolchain_problem() or ""

    def own_recipe(self, variant: Variant, inputs: BuildInputs) -> dict:
        if self.calibrated:
            texts = list(inputs.calibration or [])
            return {
                "builder": variant.builder,
                "mode": "calibrated",
                "precision": variant.precision,
                "provider": variant.provider,
                "block_size": BLOCK_SIZE,
                "samples": CALIBRATION_SAMPLES,
                "max_tokens": CALIBRATION_MAX_TOKENS,
                "calibration_sha256": hashlib.sha256(json.dumps(texts).encode()).hexdigest(),
                "calibration_texts": len(texts),
            }
        return {
            "builder": "olive",
            "mode": "recipe" if inputs.olive_recipe is not None else "auto-opt",
            "precision": variant.precision,
            "provider": variant.provider,
            "olive_recipe": inputs.olive_recipe,
            "block_size": requested_block_size(inputs.olive_recipe) or BLOCK_SIZE,
        }

    def make(self, variant: Variant, source: ModelSource, recipe: dict, inputs: BuildInputs, space: Workspace) -> int:
        work = space.scratch / "olive"  # Olive's working folder and cache: new for every build
        work.mkdir()
        if self.calibrated and not inputs.calibration:
            raise BuildError(f"{variant.id} needs calibration data: give --calibration PATH", "")
        python = toolchains.prepare(OLIVE, space.cache_dir, space.progress)
        steps = command(
            python,
            variant.precision,
            variant.provider,
            source.path,
            space.out,
            work,
            None if self.calibrated else inputs.olive_recipe,
            list(inputs.calibration or []),
            self.name if self.calibrated else None,
        )
        peak = run_step(steps, variant.id, cwd=work, env=toolchains.environment(OLIVE, space.cache_dir))
        if not (space.out / "model.onnx").is_file():  # Olive can exit 0 having produced nothing
            log = work / "build.log"
            raise BuildError(
                f"build of {variant.id}: Olive exited without a model in {space.out}",
                log.read_text(errors="replace")[-4000:] if log.is_file() else "(Olive left no log)",
            )
        return peak
