"""The fp16 CPU corrections side by side, in one run on one machine: ``python -m harness fp16-fixes``.

Builds the reference (FP32) and one fp16 CPU variant per correction of :mod:`harness.variants.fp16_cpu`
and measures them with :mod:`harness.run.side_by_side`. The table goes to stdout (Markdown)
and, with ``--out``, with the machine's description to JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from harness.errors import HarnessError
from harness.run import side_by_side
from harness.run.run import Run
from harness.variants import fp16_cpu
from harness.variants.builder import BuildInputs
from harness.variants.variant import Variant


def measure(model: str, cache_dir: Path, *, rounds: int = 5, progress: Callable[[str], None] = print) -> dict:
    run = Run.for_model(model, cache_dir, progress)
    if not run.source.uses_gqa:
        raise HarnessError(f"{run.source.name} has no grouped-query attention: its fp16 cpu build needs no correction")
    builds = {"fp32": run.build_variant(Variant("fp32", "cpu"))}
    for fix in fp16_cpu.FIXES:
        builds[f"fp16 ({fix})"] = run.build_variant(Variant("fp16", "cpu"), BuildInputs(fp16_cpu_fix=fix))
    result = side_by_side.measure(run, {name: built.path for name, built in builds.items()}, rounds=rounds)
    for row in result["rows"]:
        row["correction"] = builds[row["variant"]].correction
    return result


def render(result: dict) -> str:
    return side_by_side.render(result, "fp16 cpu corrections")
