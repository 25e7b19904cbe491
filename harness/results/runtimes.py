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

FIGURES = ("decode_tps", "ttft_ms", "tpot_ms", "prefill_tps", "peak_rss_bytes")


def _as_run(results: dict, variant: str, named: str) -> dict:
    """``variant``'s speed and memory figures as a run of their own, the variant renamed ``named``."""
    return {"run": {"id": variant}, "environment": results.get("environment", {}), "variants": [], "gates": {},
            "measurements": [{**m, "variant": named} for m in results.get("measurements", [])
                             if m["variant"] == variant and m["name"] in FIGURES]}


def comparisons(results: dict, min_effects: dict | None = None) -> list[dict]:
    variants = {v["id"]: v for v in results.get("variants", [])}
    found = []
    for variant in results.get("variants", []):
        twin = variant.get("twin")
        if twin not in variants:
            continue
        vid = variant["id"]
        rows = compare(_as_run(results, twin, vid), _as_run(results, vid, vid), everything=True,
                       min_effects=min_effects)["rows"]
        answers = {}
        for answer in results.get("answers", []):
            if answer["variant"] in (vid, twin):
                answers.setdefault(answer["id"], {})[answer["variant"]] = answer["answer"]
        paired = [a for a in answers.values() if len(a) == 2]
        closeness = {m["name"]: m for m in results.get("measurements", [])
                     if m["variant"] == vid and m["name"] in ("runtime_kld_mean", "runtime_top1_agreement")}
        found.append({"variant": vid, "twin": twin, "runtime": variant.get("runtime"),
                      "twin_runtime": variants[twin].get("runtime"), "rows": rows,
                      "same_answers": sum(a[vid] == a[twin] for a in paired), "answers": len(paired),
                      "kld": closeness.get("runtime_kld_mean"), "top1": closeness.get("runtime_top1_agreement")})
    return found
