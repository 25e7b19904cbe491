"""The variant matrix: precision x execution provider, and whether each can run here.

A variant that cannot run is never dropped: it carries the reason, pytest shows it as skipped,
and ``results.json`` records ``status: "unsupported"`` with that reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from harness.models.sources import ModelSource
from harness.variants.builders import BUILDERS
from harness.variants.mixed import PRECISION as MIXED
from harness.variants.recipes import DEFAULT_RECIPE, applies
from harness.variants.variant import BUILDER, Variant


@dataclass(frozen=True)
class PlannedVariant:
    variant: Variant
    supported: bool
    reason: str = ""  # why it cannot run (empty when supported)

    @property
    def id(self) -> str:
        return self.variant.id


_ORT_NAMES = {"cuda": "CUDAExecutionProvider", "dml": "DmlExecutionProvider", "webgpu": "WebGpuExecutionProvider"}
_GENAI_PROBES = {"cuda": "is_cuda_available", "dml": "is_dml_available", "webgpu": "is_webgpu_available"}


@lru_cache(maxsize=1)
def available_providers() -> tuple[str, ...]:
    """Execution providers usable here: onnxruntime-genai must report the provider *and* the
    onnxruntime it runs on must list it (genai 0.14.1 reports webgpu on builds without it)."""
    import onnxruntime
    import onnxruntime_genai as og

    runtime = set(onnxruntime.get_available_providers())
    found = ["cpu"]
    for name, probe in _GENAI_PROBES.items():
        check = getattr(og, probe, None)
        try:
            flagged = bool(check()) if check is not None else False
        except Exception:  # a probe that fails means the provider is not usable
            flagged = False
        if flagged and _ORT_NAMES[name] in runtime:
            found.append(name)
    return tuple(found)


def unsupported_reason(variant: Variant, source: ModelSource, available: tuple[str, ...]) -> str:
    """Why ``variant`` cannot run for ``source`` on this machine; empty if it can."""
    if variant.provider not in available:
        package = {"cuda": "onnxruntime-genai-cuda", "dml": "onnxruntime-genai-directml"}.get(
            variant.provider, f"an onnxruntime-genai build with the {variant.provider} provider"
        )
        return (
            f"execution provider '{variant.provider}' is not available here "
            f"(available: {', '.join(available)}; it needs {package} and a matching device)"
        )
    return BUILDERS[variant.builder].unsupported(variant)


def plan(
    precisions: tuple[str, ...],
    providers: tuple[str, ...] | None,
    source: ModelSource,
    available: tuple[str, ...] | None = None,
    builders: tuple[str, ...] = (BUILDER,),
    runtimes: tuple[str | None, ...] = (None,),
    recipes: tuple[str, ...] = (DEFAULT_RECIPE,),
    mixed: bool = False,
) -> list[PlannedVariant]:
    """The full matrix in a stable order (provider, builder, precision, recipe, runtime), each with
    its support. A recipe makes variants only for the genai builder and the precisions it
    quantizes: there is no fp32-kquant to skip. ``mixed`` (``--search``, ``--plan``) adds, after the
    fixed variants, one mixed-precision variant per provider (``mixed-cpu``)."""
    available = available_providers() if available is None else available
    chosen = providers if providers is not None else available
    planned = []
    for provider in chosen:
        for builder in builders:
            for precision in precisions:
                if not BUILDERS[builder].makes_variant(precision):
                    continue  # GPTQ and AWQ are INT4 methods: there is no fp32-gptq to skip
                for recipe in recipes:
                    if not applies(recipe, precision, BUILDERS[builder].takes_recipes):
                        continue
                    for runtime in runtimes:
                        variant = Variant(precision, provider, builder, runtime, recipe)
                        reason = unsupported_reason(variant, source, available)
                        planned.append(PlannedVariant(variant, supported=not reason, reason=reason))
    if mixed:
        for provider in chosen:
            variant = Variant(MIXED, provider)
            reason = unsupported_reason(variant, source, available)
            planned.append(PlannedVariant(variant, supported=not reason, reason=reason))
    return planned
