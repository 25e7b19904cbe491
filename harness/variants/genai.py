"""The genai builder: onnxruntime-genai's model builder of the main environment
(``python -m onnxruntime_genai.models.builder``), its quantization recipes
(:mod:`harness.variants.recipes`), and the mixed-precision variant assembled from its FP32 build
(:mod:`harness.variants.mixed`)."""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import TYPE_CHECKING

from harness.common.packages import versions_of
from harness.errors import BuildError
from harness.variants import fp16_cpu, mixed
from harness.variants.builder import BLOCK_SIZE, Builder, BuildInputs, Workspace, run_step
from harness.variants.recipes import DEFAULT_RECIPE, RECIPES

if TYPE_CHECKING:
    from harness.models.sources import ModelSource
    from harness.variants.variant import Variant

TOOLCHAIN_PACKAGES = ("onnxruntime-genai", "onnxruntime", "onnx", "onnx-ir", "transformers", "torch")


class GenaiBuilder(Builder):
    name = "genai"
    precisions = ("fp32", "fp16", "int8", "int4")
    description = "onnxruntime-genai's model builder (the main environment's release); int8 is its own -p int8"
    takes_recipes = True

    def toolchain(self) -> dict:
        return versions_of(TOOLCHAIN_PACKAGES)

    def own_recipe(self, variant: Variant, inputs: BuildInputs) -> dict:
        if variant.precision == mixed.PRECISION:  # the FP32 build, quantized group by group
            if not inputs.mixed_plan:
                raise BuildError(f"{variant.id} needs a plan (--plan FILE, or --search to find one)", "")
            return {
                "builder": variant.builder,
                "precision": variant.precision,
                "provider": variant.provider,
                "block_size": BLOCK_SIZE,
                "plan": dict(inputs.mixed_plan),
                "mixed_format": mixed.PLAN_FORMAT,
            }
        options = {}
        if variant.precision in ("int4", "int8"):
            # onnxruntime-genai 0.18.0's names (0.14.1 took int4_block_size); the built graph's
            # MatMulNBits attributes are read back into build.json, not trusted from these flags
            options = {"block_size": BLOCK_SIZE, **RECIPES[variant.recipe].options}
        recipe = {
            "builder": variant.builder,
            "precision": variant.precision,
            "provider": variant.provider,
            "extra_options": options,
        }
        if variant.recipe != DEFAULT_RECIPE:  # the default's key stays as it was before recipes: its builds are kept
            recipe["quantization_recipe"] = variant.recipe
        return recipe

    def make(self, variant: Variant, source: ModelSource, recipe: dict, inputs: BuildInputs, space: Workspace) -> int:
        if variant.precision == mixed.PRECISION:  # assembled from the FP32 build
            fp32 = space.build_other(replace(variant, precision="fp32", recipe=DEFAULT_RECIPE, runtime=None))
            plan_file = space.scratch / "plan.json"
            mixed.write_plan(plan_file, recipe["plan"], source.to_record())
            return run_step(
                [sys.executable, "-m", "harness.variants.mixed", str(fp32.path), str(plan_file), str(space.out)],
                variant.id,
            )
        return run_step(self.command(variant, source, recipe, space), variant.id)

    def command(self, variant: Variant, source: ModelSource, recipe: dict, space: Workspace) -> list[str]:
        args = [
            "-i",
            str(source.path),
            "-o",
            str(space.out),
            "-p",
            variant.precision,
            "-e",
            variant.provider,
            "-c",
            str(space.scratch / "hf-cache"),
        ]
        extra = recipe["extra_options"]
        if extra:
            args += ["--extra_options", *[f"{k}={v}" for k, v in extra.items()]]
        if recipe.get("fp16_cpu_fix", {}).get("name") == "gqa":
            return fp16_cpu.gqa_builder_command(args)
        return [sys.executable, "-m", "onnxruntime_genai.models.builder", *args]
