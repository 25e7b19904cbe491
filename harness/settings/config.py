"""Settings: one immutable :class:`RunConfig`, resolved in one place.

Precedence (first that is set wins): command-line option > ``HARNESS_*`` environment variable >
``[tool.harness]`` in the project's ``pyproject.toml`` > built-in default. Every value is parsed
at this boundary by a small ``parse_*`` function; a bad value raises :class:`HarnessError` naming
where it came from (``invalid value 'x' for option --precisions: ...``).

The help texts below are shared by the command-line options and the settings reference (docs/reference/settings.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
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
# (harness.settings.registry.resolve's ``choices``), so settings import no builder code.
CHOSEN_BY_NAME = ("builders", "recipes")


@dataclass(frozen=True)
class Profile:
    """How much work each suite does. ``quick`` is for CI, ``full`` for release decisions."""

    name: str
    warmup: int  # generations run first and kept apart from the statistics
    repetitions: int  # measured generations per metric
    new_tokens: int  # tokens generated per measured request (forced with min_length)
    smoke_prompts: int  # domain prompts the smoke suite answers per variant
    length_points: tuple[float, ...]  # input-length sweep: shares of the room under max_length
    length_repetitions: int  # measured generations per sweep point (after one warm-up)
    length_new_tokens: int  # tokens generated per sweep request
    overhead_pairs: int  # alternating harness / bare-loop request pairs, at most (fewer once decided)
    soak_warmup: int  # soak iterations run first, kept out of the verdicts
    soak_iterations: int  # measured soak iterations per mode (fresh and reused generator), at most
    soak_seconds: float | None  # per mode: stop measuring after this long (None: no time limit)
    quality_examples: int | None  # domain examples answered and scored per variant (None: all)
    kld_chunks: int  # closeness: chunks of domain text (KLD_CONTEXT tokens each, second half scored)
    search_candidates: int = 70  # --search: candidate mixes measured at most
    search_chunks: int = 4  # --search: chunks of calibration text each candidate is scored on


PROFILES: dict[str, Profile] = {
    "quick": Profile("quick", warmup=1, repetitions=5, new_tokens=32, smoke_prompts=3,
                     length_points=(0.0, 0.33, 0.66, 1.0), length_repetitions=3,
                     length_new_tokens=16, overhead_pairs=10,
                     soak_warmup=40, soak_iterations=120, soak_seconds=30, quality_examples=30, kld_chunks=2,
                     search_candidates=16, search_chunks=2),
    "standard": Profile("standard", warmup=2, repetitions=10, new_tokens=64, smoke_prompts=10,
                        length_points=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0), length_repetitions=5,
                        length_new_tokens=32, overhead_pairs=60,
                        soak_warmup=20, soak_iterations=300, soak_seconds=60, quality_examples=100, kld_chunks=8,
                        search_candidates=70, search_chunks=4),
    "full": Profile("full", warmup=3, repetitions=30, new_tokens=128, smoke_prompts=50,
                    length_points=(0.0, 0.1, 0.2, 0.3, 0.45, 0.6, 0.75, 0.9, 1.0),
                    length_repetitions=10, length_new_tokens=64, overhead_pairs=320,
                    soak_warmup=50, soak_iterations=2000, soak_seconds=None, quality_examples=None, kld_chunks=32,
                    search_candidates=140, search_chunks=8),
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
    prompt_template: Path | None = None  # None: the model's chat template
    reference: str = "fp32"
    answer_tokens: int = 128
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


# ---------------------------------------------------------------------------------------------
# Parsers: raw text (or TOML value) -> typed value; raise ValueError with a short reason.


def _split_list(raw: Any) -> list[str]:
    if isinstance(raw, (list, tuple)):
        items = [str(x) for x in raw]
    else:
        items = str(raw).split(",")
    items = [x.strip().lower() for x in items if x.strip()]
    if not items:
        raise ValueError("empty list")
    return items


def _parse_choices(raw: Any, allowed: tuple[str, ...], what: str) -> tuple[str, ...]:
    items = _split_list(raw)
    bad = [x for x in items if x not in allowed]
    if bad:
        raise ValueError(f"unknown {what} {', '.join(map(repr, bad))} (choose from {', '.join(allowed)})")
    return tuple(dict.fromkeys(items))  # keep order, drop repeats


def parse_precisions(raw: Any) -> tuple[str, ...]:
    return _parse_choices(raw, PRECISIONS, "precision")


def parse_providers(raw: Any) -> tuple[str, ...] | None:
    if str(raw).strip().lower() in ("auto", "all", ""):
        return None
    return _parse_choices(raw, PROVIDERS, "provider")


def _parse_one(raw: Any, allowed: tuple[str, ...], what: str) -> str:
    items = _parse_choices(raw, allowed, what)
    if len(items) != 1:
        raise ValueError(f"expected one {what}")
    return items[0]


def parse_reference(raw: Any) -> str:
    return _parse_one(raw, PRECISIONS, "precision")


def parse_builders(raw: Any, names: tuple[str, ...]) -> tuple[str, ...]:
    return _parse_choices(raw, names, "builder")


def parse_recipes(raw: Any, names: tuple[str, ...]) -> tuple[str, ...] | None:
    """None for 'auto' (harness.variants.recipes.chosen decides)."""
    if str(raw).strip().lower() == "auto":
        return None
    return _parse_choices(raw, names, "recipe")


def parse_runtimes(raw: Any) -> tuple[str, ...]:
    """onnxruntime-genai versions, e.g. ``0.18.0,0.14.1``; ``main``: the main environment's only."""
    items = _split_list(raw)
    if items == ["main"]:
        return ()
    bad = [x for x in items if not re.fullmatch(r"\d+\.\d+\.\d+", x)]
    if bad:
        raise ValueError(f"{bad[0]!r} is not an onnxruntime-genai version (like 0.14.1)")
    return tuple(dict.fromkeys(items))


def parse_objective(raw: Any) -> str:
    return _parse_one(raw, OBJECTIVES, "objective")


def parse_fp16_cpu_fix(raw: Any) -> str:
    return _parse_one(raw, FP16_CPU_FIXES, "fp16 cpu correction")


def parse_profile(raw: Any) -> Profile:
    name = str(raw).strip().lower()
    if name not in PROFILES:
        raise ValueError(f"unknown profile (choose from {', '.join(PROFILES)})")
    return PROFILES[name]


def parse_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected true or false")


def parse_positive_int(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError("expected a positive integer")
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ValueError("expected a positive integer") from None
    if value <= 0:
        raise ValueError("expected a positive integer")
    return value


def parse_optional_int(raw: Any) -> int | None:
    if str(raw).strip().lower() in ("auto", ""):
        return None
    return parse_positive_int(raw)


def _parse_number(raw: Any, accept: Callable[[float], bool], expected: str) -> float:
    """A float that ``accept`` allows; otherwise ValueError("expected <expected>")."""
    if isinstance(raw, bool):
        raise ValueError(f"expected {expected}")
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise ValueError(f"expected {expected}") from None
    if not accept(value):  # also refuses NaN
        raise ValueError(f"expected {expected}")
    return value


def parse_seconds(raw: Any) -> float:
    return _parse_number(raw, lambda v: v > 0, "a number of seconds > 0")


def parse_share(raw: Any) -> float:
    return _parse_number(raw, lambda v: 0 <= v <= 1, "a number between 0 and 1")


def parse_non_negative(raw: Any) -> float:
    return _parse_number(raw, lambda v: v >= 0, "a number >= 0")


def parse_model(raw: Any) -> str:
    text = str(raw).strip()
    if not text:
        raise ValueError("empty model")
    return text


def parse_optional_path(raw: Any) -> Path | None:
    if str(raw).strip().lower() in ("auto", "none", ""):
        return None
    return parse_path(raw)


def parse_path(raw: Any) -> Path:
    text = str(raw).strip()
    if not text:
        raise ValueError("empty path")
    return Path(text).expanduser()


