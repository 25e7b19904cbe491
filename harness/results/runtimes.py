"""The runtime comparison (``--runtimes``): does another onnxruntime-genai release change the model's
speed or answers?

Each variant measured under another release (``int4-cpu@0.14.1``) is set against its twin, the same
build under the main environment's runtime (``int4-cpu``), within one run on one machine:

- speed and memory (``FIGURES``): the same tests as ``python -m harness compare`` (Mann–Whitney
  on the samples, Holm–Bonferroni over the figures of one variant, then the metric's minimum
  effect), by :func:`harness.results.compare.compare` itself;
- answers: how many of the quality suite's greedy answers are the same text;
- logits: ``runtime_kld_mean`` and ``runtime_top1_agreement`` (``suites/test_runtimes.py``).
"""

from __future__ import annotations

from harness.results.compare import compare
from harness.results.view import RunResults, as_results

FIGURES = ("decode_tps", "ttft_ms", "tpot_ms", "prefill_tps", "peak_rss_bytes")


def _as_run(results: RunResults, variant: str, named: str) -> RunResults:
    """``variant``'s speed and memory figures as a run of their own, the variant renamed ``named``."""
    return RunResults.from_dict(
        {
            "run": {"id": variant},
            "environment": dict(results.environment),
            "measurements": [{**m.to_dict(), "variant": named} for m in results.of(variant) if m.name in FIGURES],
        }
    )


def comparisons(results: RunResults | dict, min_effects: dict | None = None) -> list[dict]:
    results = as_results(results)
    found = []
    for variant in results.variants:
        twin = results.variant(variant.twin) if variant.twin else None
        if twin is None:
            continue
        vid = variant.id
        rows = compare(
            _as_run(results, twin.id, vid), _as_run(results, vid, vid), everything=True, min_effects=min_effects
        )["rows"]
        answers = {}
        for answer in results.answers:
            if answer["variant"] in (vid, twin.id):
                answers.setdefault(answer["id"], {})[answer["variant"]] = answer["answer"]
        paired = [a for a in answers.values() if len(a) == 2]
        found.append(
            {
                "variant": vid,
                "twin": twin.id,
                "runtime": variant.runtime,
                "twin_runtime": twin.runtime,
                "rows": rows,
                "same_answers": sum(a[vid] == a[twin.id] for a in paired),
                "answers": len(paired),
                "kld": results.find(vid, "runtime_kld_mean"),
                "top1": results.find(vid, "runtime_top1_agreement"),
            }
        )
    return found
