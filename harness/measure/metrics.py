"""The metric registry: every measurement a suite records, defined once (name, suite, unit,
which way is better, definition, and whether ``compare`` and the report's performance table show
it). Gates check names against it, the report, ``compare`` and the reference page
(docs/reference/metrics.md, checked by a test) read it, and a test checks that real runs record
nothing outside it, with these units and directions.

A name with ``*`` is a family (``ttft_ms@*``: one metric per prompt length)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from difflib import get_close_matches

from harness.evaluation.checks import CHECKS
from harness.evaluation.scoring import ALL_CHECKS, PROPORTIONS, SCORED
from harness.measure.closeness import STATISTICS

HIGHER, LOWER, NEITHER = "higher", "lower", "neither"


@dataclass(frozen=True)
class Metric:
    name: str
    suite: str  # the suite file that records it: suites/test_<suite>.py
    unit: str
    better: str  # higher | lower | neither
    definition: str
    headline: bool = False  # compared by default by ``python -m harness compare`` (the rest with --all)
    column: str = ""  # its column title in the report's performance table ("": not a column)
    scale: float = 1.0  # what its value is multiplied by in that column (bytes -> MB: 1e-6)

    @property
    def higher_is_better(self) -> bool | None:
        return {HIGHER: True, LOWER: False}.get(self.better)


CLOSENESS_DEFINITIONS = {
    "kld_mean": "mean KL divergence from the reference's next-token distribution",
    "top1_agreement": "share of positions where the most likely next token is the reference's",
    "delta_p_mean": "mean change of the probability of the true next token",
    "delta_p_rms": "root mean square change of the probability of the true next token",
    "ppl": "perplexity of the variant on the closeness text",
    "ppl_reference": "perplexity of the reference on the same text",
    "ln_ppl_ratio": "ln(variant perplexity / reference perplexity)",
    "ppl_ratio": "variant perplexity / reference perplexity",
    "ppl_correlation": "Pearson correlation of the two models' per-token log-probabilities",
}

_direction = {True: HIGHER, False: LOWER, None: NEITHER}
HEADLINE_CHECKS = ("exact_match", "json_schema")  # of the task checks, the ones compare shows by default
HEADLINE_CLOSENESS = ("kld_mean", "top1_agreement", "ppl_ratio")

METRICS: tuple[Metric, ...] = (
    Metric(
        "smoke_exact_match",
        "smoke",
        "fraction",
        HIGHER,
        "share of the first smoke prompts answered exactly",
        headline=True,
    ),
    *(
        Metric(
            name,
            "quality",
            "fraction",
            HIGHER,
            "share of records passing every pass/fail check they carry (task accuracy)"
            if name == ALL_CHECKS
            else f"share of records passing the {name} check: {CHECKS[name].accepts}",
            headline=name in HEADLINE_CHECKS,
        )
        for name in PROPORTIONS
    ),
    *(
        Metric(name, "quality", "F1", HIGHER, "mean ROUGE-L F1 against the reference answers", headline=True)
        for name in SCORED
    ),
    *(
        Metric(
            name, "quality", unit, _direction[higher], CLOSENESS_DEFINITIONS[name], headline=name in HEADLINE_CLOSENESS
        )
        for name, (unit, higher) in STATISTICS.items()
    ),
    *(
        Metric(
            f"runtime_{name}",
            "runtimes",
            unit,
            _direction[higher],
            f"{CLOSENESS_DEFINITIONS[name]}, the reference being the same build under the main environment's runtime",
        )
        for name, (unit, higher) in STATISTICS.items()
    ),
    Metric("tokenize_ms", "latency", "ms", LOWER, "encoding the prompt text with the model's tokenizer"),
    Metric(
        "ttft_ms", "latency", "ms", LOWER, "time to first token: t1 - t0 (the prefill)", headline=True, column="TTFT ms"
    ),
    Metric("prefill_tps", "latency", "tokens/s", HIGHER, "prompt tokens / TTFT", headline=True, column="prefill tok/s"),
    Metric(
        "tpot_ms", "latency", "ms", LOWER, "time per output token: (tN - t1) / (N - 1)", headline=True, column="TPOT ms"
    ),
    Metric("decode_tps", "latency", "tokens/s", HIGHER, "(N - 1) / (tN - t1)", headline=True, column="decode tok/s"),
    Metric("e2e_ms", "latency", "ms", LOWER, "tN - t0", headline=True),
    Metric("itl_ms", "latency", "ms", LOWER, "every gap between consecutive tokens, pooled over requests"),
    Metric(
        "bandwidth_efficiency",
        "latency",
        "fraction",
        HIGHER,
        "decode_tps x weight bytes read per token / the machine's read bandwidth",
        column="bandwidth efficiency",
    ),
    Metric(
        "load_footprint_bytes",
        "memory",
        "bytes",
        LOWER,
        "the worker's RSS after loading minus before",
        headline=True,
        column="load footprint MB",
        scale=1e-6,
    ),
    Metric("rss_bytes", "memory", "bytes", LOWER, "the worker's resident set size after the earlier suites"),
    Metric("uss_bytes", "memory", "bytes", LOWER, "the worker's unique set size after the earlier suites"),
    Metric(
        "peak_rss_bytes",
        "memory",
        "bytes",
        LOWER,
        "the worker's high-water RSS (VmHWM)",
        headline=True,
        column="peak RSS MB",
        scale=1e-6,
    ),
    Metric("first_request_rss_delta_bytes", "memory", "bytes", LOWER, "what the first request added to RSS"),
    Metric("first_generator_rss_delta_bytes", "memory", "bytes", LOWER, "what the first generator added to RSS"),
    Metric(
        "generator_rss_delta_bytes", "memory", "bytes", LOWER, "what a generator holding a domain prompt adds to RSS"
    ),
    Metric(
        "kv_cache_bytes",
        "memory",
        "bytes",
        LOWER,
        "2 x layers x KV heads x head size x max_length x element size",
        column="KV cache MB",
        scale=1e-6,
    ),
    Metric("kv_cache_share", "memory", "fraction", LOWER, "kv_cache_bytes / the worker's RSS with a generator"),
    Metric("device_bytes", "memory", "bytes", LOWER, "on cuda, GPU memory the worker holds (NVML)"),
    Metric("ttft_ms@*", "input_length", "ms", LOWER, "TTFT at a prompt of exactly P tokens of domain text"),
    Metric("decode_tps@*", "input_length", "tokens/s", HIGHER, "decode tokens/s at a prompt of exactly P tokens"),
    Metric(
        "decode_tps_longest_vs_shortest",
        "input_length",
        "ratio",
        HIGHER,
        "median decode tokens/s at the sweep's longest prompt / at its shortest",
    ),
    Metric(
        "prefill_ms_per_token",
        "input_length",
        "ms/token",
        LOWER,
        "slope of TTFT against the prompt length",
        column="prefill ms/token (fit)",
    ),
    Metric(
        "decode_tpot_ms_per_1k_context",
        "input_length",
        "ms per 1k tokens",
        LOWER,
        "slope of TPOT against the prompt length, x 1000",
        column="decode +ms per 1k ctx (fit)",
    ),
    Metric("harness_decode_tps", "overhead", "tokens/s", HIGHER, "decode tokens/s through the harness's session"),
    Metric("harness_ttft_ms", "overhead", "ms", LOWER, "TTFT through the harness's session"),
    Metric("bare_decode_tps", "overhead", "tokens/s", HIGHER, "decode tokens/s of a bare onnxruntime-genai loop"),
    Metric("bare_ttft_ms", "overhead", "ms", LOWER, "TTFT of a bare onnxruntime-genai loop"),
    Metric("decode_ratio", "overhead", "ratio", HIGHER, "harness / bare decode tokens/s, per pair"),
    Metric("ttft_ratio", "overhead", "ratio", LOWER, "harness / bare TTFT, per pair"),
    *(
        Metric(
            f"leak_kib_per_iter_{mode}",
            "soak",
            "KiB/iteration",
            LOWER,
            f"Theil-Sen slope of the soak worker's RSS per iteration ({mode} generator)",
            headline=True,
        )
        for mode in ("fresh", "reused")
    ),
    *(
        Metric(
            f"decode_tps_trend_{mode}",
            "soak",
            "tokens/s per iteration",
            HIGHER,
            f"Theil-Sen slope of decode tokens/s over the soak iterations ({mode})",
        )
        for mode in ("fresh", "reused")
    ),
    Metric(
        "foundry_same_answer",
        "foundry",
        "fraction",
        HIGHER,
        "share of answers through Foundry Local equal to the harness's",
    ),
    *(
        Metric(f"foundry_{name}", "foundry", "fraction", HIGHER, f"the {name} share of answers through Foundry Local")
        for name in PROPORTIONS
    ),
    Metric("foundry_e2e_ms", "foundry", "ms", LOWER, "end-to-end time of a request through Foundry Local"),
    Metric("harness_e2e_ms", "foundry", "ms", LOWER, "end-to-end time of the same request through the harness"),
    Metric(
        "foundry_first_token_ms",
        "foundry",
        "ms",
        LOWER,
        "time of the same request through Foundry Local cut to one new token (everything before the first token)",
    ),
    Metric(
        "harness_first_token_ms",
        "foundry",
        "ms",
        LOWER,
        "tokenizing, creating the generator and TTFT of the same request through the harness",
    ),
    Metric(
        "foundry_per_token_ms",
        "foundry",
        "ms",
        LOWER,
        "a Foundry Local answer's time less its one-token request's, per later token",
    ),
    Metric("harness_per_token_ms", "foundry", "ms", LOWER, "TPOT of the same request through the harness"),
)
BY_NAME = {m.name: m for m in METRICS}
assert len(BY_NAME) == len(METRICS), "a metric is registered twice"


def lookup(name: str) -> Metric | None:
    """The registered metric a measurement name belongs to (``ttft_ms@128`` -> ``ttft_ms@*``)."""
    return BY_NAME.get(name) or next((m for m in METRICS if "*" in m.name and fnmatch.fnmatchcase(name, m.name)), None)


def names_of(suite: str) -> tuple[str, ...]:
    return tuple(m.name for m in METRICS if m.suite == suite)


KNOWN_METRICS = tuple(m.name for m in METRICS)
QUALITY_SUITES = ("quality", "smoke", "robustness")  # not performance: comparable across machines


def is_known_metric(pattern: str) -> bool:
    """Whether a measurement name (or a gate's glob) names at least one metric a suite records."""
    return any(fnmatch.fnmatchcase(known, pattern) or fnmatch.fnmatchcase(pattern, known) for known in KNOWN_METRICS)


def unknown_metric(metric: str) -> str:
    """The message for a metric name no registry entry matches: the nearest name, if one is near,
    and where the metrics are listed."""
    hint = get_close_matches(metric, [k for k in KNOWN_METRICS if "*" not in k], n=1)
    return (
        f"unknown metric {metric!r} ("
        + (f"did you mean {hint[0]!r}?; " if hint else "")
        + "metrics: docs/reference/metrics.md)"
    )
