"""Settings: one immutable :class:`RunConfig` and the profiles, resolved in one place
(:mod:`harness.settings.resolve`).

Precedence (first that is set wins): command-line option > ``HARNESS_*`` environment variable >
``[tool.harness]`` in the project's ``pyproject.toml`` > built-in default. Every value is parsed
at this boundary by a small ``parse_*`` function (:mod:`harness.settings.parsers`); a bad value
raises :class:`HarnessError` naming where it came from (``invalid value 'x' for option --precisions: ...``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

PRECISIONS = ("fp32", "fp16", "int8", "int4")
PROVIDERS = ("cpu", "cuda", "dml", "webgpu")
OBJECTIVES = ("size", "speed", "memory")  # what "cheapest" means for the recommendation
# A session's max_length (its KV cache is allocated to it) when the user does not set one: the
# model's context, capped here so a 128k-context model does not reserve gigabytes per session.
CONTEXT_CAP = 2048
FP16_CPU_FIXES = ("gqa", "relabel")  # harness.variants.fp16_cpu
# Settings whose names a higher layer defines: the builders (harness.variants.builders) and the
# quantization recipes (harness.variants.recipes). Whoever resolves settings passes their names
# (harness.settings.resolve.resolve's ``choices``), so settings import no builder code.
CHOSEN_BY_NAME = ("builders", "recipes")


@dataclass(frozen=True)
class Profile:
    """How much work the shared steps do: timed requests, the quality examples, the closeness
    chunks and the search. ``quick`` is for CI, ``full`` for release decisions. What only one
    suite uses is declared in that suite's file (:func:`sizes_by_profile`)."""

    name: str
    warmup: int  # generations run first and kept apart from the statistics
    repetitions: int  # measured generations per timed figure, at most (harness.measure.sampler)
    min_repetitions: int  # measured before the first look at the figures' intervals
    precision: float  # stop once each timed figure's median is known within this share (95 % half-width)
    new_tokens: int  # tokens generated per measured request (forced with min_length)
    quality_examples: int | None  # domain examples answered and scored per variant (None: all)
    kld_chunks: int  # closeness: chunks of domain text (KLD_CONTEXT tokens each, second half scored)
    search_candidates: int = 70  # --search: candidate mixes measured at most
    search_chunks: int = 4  # --search: chunks of calibration text each candidate is scored on


PROFILES: dict[str, Profile] = {
    "quick": Profile(
        "quick",
        warmup=1,
        repetitions=24,
        min_repetitions=6,
        precision=0.10,
        new_tokens=32,
        quality_examples=30,
        kld_chunks=2,
        search_candidates=16,
        search_chunks=2,
    ),
    "standard": Profile(
        "standard",
        warmup=2,
        repetitions=64,
        min_repetitions=8,
        precision=0.05,
        new_tokens=64,
        quality_examples=100,
        kld_chunks=8,
        search_candidates=70,
        search_chunks=4,
    ),
    "full": Profile(
        "full",
        warmup=3,
        repetitions=200,
        min_repetitions=10,
        precision=0.02,
        new_tokens=128,
        quality_examples=None,
        kld_chunks=32,
        search_candidates=140,
        search_chunks=8,
    ),
}


@dataclass(frozen=True)
class RunConfig:
    """Everything a run needs to know, resolved and validated."""

    model: str = "embedded"
    dataset: Path | None = None  # None: the model's own set (harness.measure.smoke.default_dataset)
    precisions: tuple[str, ...] = PRECISIONS
    providers: tuple[str, ...] | None = None  # None: every provider available on this machine
    profile: Profile = PROFILES["standard"]
    reports_dir: Path = Path("reports")
    cache_dir: Path = Path(".harness-cache")
    force_unsupported: bool = False
    benchmark: bool = False
    max_length: int | None = None  # None: min(model context, CONTEXT_CAP)
    worker_timeout: float = 600.0
    budget: float | None = None  # minutes the run should fit in (harness.run.budget)
    prompt_template: Path | None = None  # None: the model's chat template
    reference: str = "fp32"
    answer_tokens: int = 128
    answer_batch: int = 4
    gates_file: Path | None = None  # None: [tool.harness.gates] (or the built-in defaults)
    baseline: Path | None = None
    allow_foreign_baseline: bool = False
    objective: str = "size"
    builders: tuple[str, ...] = ("genai",)
    recipes: tuple[str, ...] | None = None  # None: auto (harness.variants.recipes.chosen)
    runtimes: tuple[str, ...] = ()  # onnxruntime-genai versions; empty: the main environment's only
    olive_recipe: Path | None = None
    calibration: Path | None = None
    search: bool = False
    plan: Path | None = None
    foundry_packages: Path | None = None
    fp16_cpu_fix: str = "gqa"
    strict_gates: bool = False
    overhead: bool = False
    sources: Mapping[str, str] = field(default_factory=dict)  # setting -> where its value came from
    gate_thresholds: Mapping[str, float] = field(default_factory=dict)  # gate -> threshold (registry.RETIRED)
    notices: tuple[str, ...] = ()  # former setting names this run used (harness.settings.registry.RENAMED)


def sizes_by_profile(**profiles: Mapping[str, Any]) -> dict[str, SimpleNamespace]:
    """A suite's own sizes for each profile, declared in the suite's file as
    ``SIZES = sizes_by_profile(quick={...}, standard={...}, full={...})``; the suite's ``sizes``
    fixture gives the run's. Every profile is given, each with the same sizes."""
    if set(profiles) != set(PROFILES):
        raise ValueError(f"sizes for the profiles {sorted(profiles)}; expected {sorted(PROFILES)}")
    names = [sorted(sizes) for sizes in profiles.values()]
    if any(n != names[0] for n in names):
        raise ValueError(f"every profile needs the same sizes: {dict(zip(profiles, names))}")
    return {name: SimpleNamespace(**sizes) for name, sizes in profiles.items()}
