"""What the performance suites compute from traces: pure functions, tested without a model.

Metric definitions (docs/reference/metrics.md): per request with P prompt tokens and N generated tokens,
t0 just before the prefill, t_k when token k is available.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from harness.measure.fits import linear_fit
from harness.measure.records import Threshold, estimate, fitted, measurement, verdict
from harness.measure.trace import GenerationTrace

# name, unit, higher_is_better, value of one trace (None: not defined for it)
PER_REQUEST = (
    ("tokenize_ms", "ms", False, lambda t: t.tokenize_s * 1e3),
    ("ttft_ms", "ms", False, lambda t: t.ttft_s * 1e3),
    ("prefill_tps", "tokens/s", True, lambda t: t.prefill_tps),
    ("tpot_ms", "ms", False, lambda t: t.tpot_s * 1e3 if t.tpot_s is not None else None),
    ("decode_tps", "tokens/s", True, lambda t: t.decode_tps),
    ("e2e_ms", "ms", False, lambda t: t.e2e_s * 1e3),
)

METRIC_OF = {name: of for name, _, _, of in PER_REQUEST}


def _values(traces: Sequence[GenerationTrace], of) -> list[float]:
    return [v for v in (of(t) for t in traces) if v is not None and math.isfinite(v)]


def latency_records(
    variant: str, suite: str, warmups: Sequence[GenerationTrace], traces: Sequence[GenerationTrace], **extra
) -> list[dict]:
    """One measurement per latency metric; ITL pools the gaps between tokens of all requests."""
    records = [
        measurement(
            variant,
            suite,
            name,
            unit,
            _values(traces, of),
            warmup=_values(warmups, of),
            higher_is_better=higher,
            **extra,
        )
        for name, unit, higher, of in PER_REQUEST
    ]
    gaps = [g * 1e3 for t in traces for g in t.itl_s]
    warm_gaps = [g * 1e3 for t in warmups for g in t.itl_s]
    records.append(measurement(variant, suite, "itl_ms", "ms", gaps, warmup=warm_gaps, higher_is_better=False, **extra))
    return [r for r in records if r["stats"]["n"] > 0]


def kv_cache_bytes(genai_config: dict, max_length: int, io_dtype: str) -> int:
    """Bytes of the key/value cache onnxruntime-genai allocates for one sequence of max_length
    (onnxruntime-genai sizes the cache to max_length up front): keys and values, per layer, per
    key/value head, head size × max_length elements of the model's input/output type."""
    decoder = genai_config["model"]["decoder"]
    itemsize = {"float32": 4, "float16": 2, "bfloat16": 2}.get(io_dtype, 4)
    return (
        2
        * int(decoder["num_hidden_layers"])
        * int(decoder["num_key_value_heads"])
        * int(decoder["head_size"])
        * max_length
        * itemsize
    )


def sweep_lengths(limit: int, new_tokens: int, fractions: Sequence[float], shortest: int = 16) -> list[int]:
    """Prompt lengths for the input-length sweep: fractions of the room under ``limit`` that
    leaves ``new_tokens`` to generate, never shorter than ``shortest``; sorted, distinct."""
    room = limit - new_tokens
    if room < shortest:
        raise ValueError(f"max_length {limit} leaves no room for a sweep with {new_tokens} new tokens")
    lengths = {max(shortest, min(room, round(f * room))) for f in fractions}
    return sorted(lengths)


def length_records(
    variant: str, points: Sequence[tuple[int, Sequence[GenerationTrace], Sequence[GenerationTrace]]], gate: Threshold
) -> tuple[list[dict], dict]:
    """Measurements per prompt length, the fitted costs, and the consistency verdict.

    ``points``: (prompt tokens, requests that prefilled it, requests that decoded again from a
    kept prefill), shortest first. TTFT comes from the first kind only; decode tokens/s and TPOT
    from both. Fits: TTFT against prompt tokens (slope = prefill ms per prompt token) and TPOT
    against prompt tokens (slope × 1000 = extra ms per output token per 1,000 tokens of context).
    Verdict: ``decode_tps_longest_vs_shortest`` (median decode tokens/s at the longest length ÷ at
    the shortest) meets the threshold of ``gate`` (:func:`harness.gates.spec.threshold_gate`).
    """
    records: list[dict] = []
    xs_ttft, ys_ttft, xs_tpot, ys_tpot = [], [], [], []
    decode_medians: list[float] = []
    for length, prefilled, again in points:
        ttft = _values(prefilled, METRIC_OF["ttft_ms"])
        tpot, tps = (_values([*prefilled, *again], METRIC_OF[name]) for name in ("tpot_ms", "decode_tps"))
        records.append(
            measurement(
                variant, "length", f"ttft_ms@{length}", "ms", ttft, higher_is_better=False, prompt_tokens=length
            )
        )
        records.append(
            measurement(
                variant,
                "length",
                f"decode_tps@{length}",
                "tokens/s",
                tps,
                higher_is_better=True,
                prompt_tokens=length,
                decoded_again=len(again),
                # the prompt's last token recomputed alone may round differently from the prefill
                # (seen on FP16): the same work, other tokens; counted, not refused
                decoded_again_differ=sum(1 for t in again if prefilled and t.tokens != prefilled[0].tokens),
            )
        )
        xs_ttft += [length] * len(ttft)
        ys_ttft += ttft
        xs_tpot += [length] * len(tpot)
        ys_tpot += tpot
        decode_medians.append(records[-1]["value"])
    distinct = len({length for length, *_ in points})
    if distinct >= 2 and len(xs_ttft) >= 3:
        records.append(
            fitted(
                variant,
                "length",
                "prefill_ms_per_token",
                "ms/token",
                linear_fit(xs_ttft, ys_ttft),
                xs_ttft,
                ys_ttft,
                higher_is_better=False,
            )
        )
        tpot_fit = linear_fit(xs_tpot, ys_tpot)
        per_1k = {
            **tpot_fit,
            "slope": tpot_fit["slope"] * 1000,
            "slope_ci95": [v * 1000 for v in tpot_fit["slope_ci95"]],
        }
        records.append(
            fitted(
                variant,
                "length",
                "decode_tpot_ms_per_1k_context",
                "ms per 1k tokens",
                per_1k,
                xs_tpot,
                ys_tpot,
                higher_is_better=False,
            )
        )
    share = decode_medians[-1] / decode_medians[0] if decode_medians and decode_medians[0] else math.nan
    shortest, longest = points[0][0], points[-1][0]
    records.append(
        estimate(
            variant,
            "length",
            "decode_tps_longest_vs_shortest",
            "ratio",
            share,
            None,
            shortest_tokens=shortest,
            longest_tokens=longest,
        )
    )
    passed = bool(gate.decide(share, None, gate.k)[0])
    finding = verdict(
        variant,
        "length",
        "length_consistency",
        passed,
        value=share,
        threshold=gate.k,
        message=f"decode at {longest} prompt tokens runs at {share:.2f} × its speed at {shortest} "
        f"({decode_medians[-1]:,.0f} vs {decode_medians[0]:,.0f} tokens/s); "
        f"{'meets' if passed else 'misses'} gate '{gate.name}' ({gate.check})",
    )
    return records, finding


def bandwidth_efficiency(decode_tps: float, bytes_per_token: int, bandwidth_bytes_per_s: float) -> float:
    """Share of the machine's read bandwidth that decoding uses: tokens/s × bytes/token ÷ bytes/s.

    Above 1 means the weights are served from CPU caches, not memory (small models).
    """
    return decode_tps * bytes_per_token / bandwidth_bytes_per_s


def timed_rounds(
    benchmark, request: Callable[[], GenerationTrace], *, rounds: int, warmup: int
) -> tuple[list[GenerationTrace], list[GenerationTrace]]:
    """Run ``warmup`` + ``rounds`` requests through pytest-benchmark's ``pedantic`` (so its
    ``--benchmark-json``/``--benchmark-compare`` see them) and return (warm-ups, measured).

    pytest-benchmark disables itself under pytest-xdist or ``--benchmark-disable`` and then calls
    the target once; the remaining requests are made here, so the harness's statistics never
    depend on that plugin's mode.
    """
    traces: list[GenerationTrace] = []

    def target() -> None:
        traces.append(request())

    benchmark.pedantic(target, rounds=rounds, warmup_rounds=warmup, iterations=1)
    while len(traces) < warmup + rounds:
        target()
    return traces[:warmup], traces[warmup:]


def domain_token_ids(encode: Callable[[str], list[int]], texts: Sequence[str], needed: int) -> list[int]:
    """At least ``needed`` token ids of real domain text: the texts joined, repeated if short."""
    if not texts:
        raise ValueError("no domain text to build prompts from")
    ids = encode("\n\n".join(texts))
    if not ids:
        raise ValueError("the domain text encodes to no tokens")
    while len(ids) < needed:
        ids = ids + ids
    return ids[:needed]
