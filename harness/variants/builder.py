"""What a builder is: one class that owns the precisions it makes, its part of the build's cache
key (:meth:`Builder.recipe`), the toolchain it builds with, why it cannot make a variant here, and
how it makes one (:meth:`Builder.make`). The builders themselves are listed in
:mod:`harness.variants.builders`; :mod:`harness.variants.build` caches and verifies what they make.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.common.processes import die_with_parent, stop_if_interrupted
from harness.errors import BuildError
from harness.variants import fp16_cpu

if TYPE_CHECKING:
    from harness.models.sources import ModelSource
    from harness.variants.variant import Variant

BLOCK_SIZE = 32  # INT4 and INT8 weights: one scale per 32 weights, the builder's default for int4
Progress = Callable[[str], None]


@dataclass(frozen=True)
class BuildInputs:
    """What a run gives a build beyond the variant and the model."""

    olive_recipe: dict | None = None  # --olive-recipe: an Olive recipe file's content
    calibration: tuple[str, ...] | None = None  # the texts GPTQ and AWQ calibrate on
    fp16_cpu_fix: str = fp16_cpu.DEFAULT_FIX  # --fp16-cpu-fix
    mixed_plan: dict | None = None  # the plan of a mixed variant (--plan, or what --search found)


NO_INPUTS = BuildInputs()  # a build that needs nothing beyond the variant and the model


@dataclass(frozen=True)
class Workspace:
    """Where one build happens: ``out`` receives the model; ``scratch`` is a fresh folder of its
    own; ``build_other`` builds (or finds) another variant of the same model, as a mixed variant
    needs the FP32 build."""

    out: Path
    scratch: Path
    cache_dir: Path
    progress: Progress
    build_other: Callable[[Variant], Any]


class Builder:
    """A way of making variants. Subclasses set the class attributes and implement ``toolchain``,
    ``own_recipe`` and ``make``."""

    name: str
    precisions: tuple[str, ...]  # what it can make; other precisions are unsupported variants
    description: str
    hatch: str | None = None  # how its bars are hatched in the plots (None: plain)
    calibrated: bool = False  # needs calibration text; its variants exist only for its precisions
    takes_recipes: bool = False  # the genai quantization recipes (--recipes) apply to it

    def makes_variant(self, precision: str) -> bool:
        """Whether (this builder, precision) is a variant at all: a calibrated method makes only
        its precisions (there is no fp32-gptq to skip); other builders name what they cannot make."""
        return not self.calibrated or precision in self.precisions

    def unsupported(self, variant: Variant) -> str:
        """Why this builder cannot make ``variant`` here ('' when it can)."""
        return ""

    def toolchain(self) -> dict:
        """The package versions a build is made with (part of its cache key)."""
        raise NotImplementedError

    def own_recipe(self, variant: Variant, inputs: BuildInputs) -> dict:
        """What this builder makes for ``variant``, independent of where: its options."""
        raise NotImplementedError

    def recipe(self, variant: Variant, source: ModelSource, inputs: BuildInputs) -> dict:
        """The part of the cache key that is not model or tools; an fp16 CPU build of a model with
        grouped-query attention names its correction (:mod:`harness.variants.fp16_cpu`)."""
        recipe = self.own_recipe(variant, inputs)
        if fp16_cpu.needed(variant.precision, variant.provider, source.uses_gqa):
            recipe["fp16_cpu_fix"] = fp16_cpu.recipe_entry(inputs.fp16_cpu_fix, variant.builder)
        return recipe

    def make(self, variant: Variant, source: ModelSource, recipe: dict, inputs: BuildInputs, space: Workspace) -> int:
        """Make the variant into ``space.out``; return the peak RSS of its processes in bytes."""
        raise NotImplementedError

    def correct(self, model: Path, recipe: dict, variant_id: str) -> dict | None:
        """The recipe's fp16 CPU correction, applied and stated (None when the build needs none)."""
        fix = recipe.get("fp16_cpu_fix")
        if fix is None:
            return None
        correction = fp16_cpu.correct(model, fix["name"])
        if fix["name"] == "gqa" and not correction["changed"]:
            raise BuildError(
                f"build of {variant_id}: the 'gqa' fp16 CPU correction left no GroupQueryAttention "
                "node: this onnxruntime-genai builder no longer takes it; use --fp16-cpu-fix relabel"
            )
        return correction


def run_step(command: list[str], variant_id: str, cwd: Path | None = None, env: dict | None = None) -> int:
    """Run one builder step; return its peak RSS in bytes; raise BuildError with its output tail."""
    env = dict(
        os.environ if env is None else env, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1"
    )
    # with a working folder, the output stays there (build.log) for a later look
    with open(cwd / "build.log", "w+") if cwd is not None else tempfile.TemporaryFile(mode="w+") as log:
        proc = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd, preexec_fn=die_with_parent()
        )
        _, status, usage = os.wait4(proc.pid, 0)  # per-child rusage: its own peak memory
        proc.returncode = os.waitstatus_to_exitcode(status)
        stop_if_interrupted(proc.returncode)
        if proc.returncode != 0:
            log.seek(0)
            tail = log.read()[-4000:]
            raise BuildError(
                f"build of {variant_id} failed (exit status {proc.returncode}): {' '.join(command[1:5])} ...", tail
            )
    return int(usage.ru_maxrss) * 1024  # Linux reports KiB
