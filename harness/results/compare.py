"""``python -m harness compare RUN_A RUN_B``: what changed between two runs, and whether it is more
than noise.

For each variant and metric both runs measured:

- a share (pass/fail outcomes): Fisher's exact test on the two runs' successes and failures;
- a median of raw samples: the two-sided Mann–Whitney U test on the samples;
- anything else (a fit, an estimate with an uncertainty): whether the 95 % intervals overlap.

A difference with p < 0.05 (or intervals apart) is ``changed``; otherwise ``within noise``.
Performance figures from runs on different machines (another machine fingerprint) are not
compared: the row says so instead of printing a delta.
"""

from __future__ import annotations

import fnmatch
import math

from scipy.stats import fisher_exact, mannwhitneyu

from harness.gates.judge import outcome_of
from harness.gates.spec import QUALITY_SUITES
from harness.report.tables import fmt

ALPHA = 0.05
HEADLINE = ("ttft_ms", "decode_tps", "tpot_ms", "prefill_tps", "e2e_ms", "peak_rss_bytes", "load_footprint_bytes",
            "exact_match", "json_schema", "rouge_l", "smoke_exact_match", "kld_mean", "top1_agreement", "ppl_ratio",
            "leak_kib_per_iter_*")


def judge_change(a: dict, b: dict) -> tuple[str, str]:
    """(verdict, how it was decided) for one metric measured in two runs."""
    if a.get("estimator") == "proportion" and b.get("estimator") == "proportion":
        sa, sb = a["stats"], b["stats"]
        table = [[sa["successes"], sa["n"] - sa["successes"]], [sb["successes"], sb["n"] - sb["successes"]]]
        p = float(fisher_exact(table).pvalue)
        return ("changed" if p < ALPHA else "within noise"), f"Fisher p={p:.2g}"
    if a.get("estimator") in ("median", "mean") and len(a.get("samples", [])) >= 3 and len(b.get("samples", [])) >= 3:
        p = float(mannwhitneyu(a["samples"], b["samples"], alternative="two-sided").pvalue)
        return ("changed" if p < ALPHA else "within noise"), f"Mann-Whitney p={p:.2g}"
    ia, ib = a.get("interval"), b.get("interval")
    single = min((a.get("stats") or {}).get("n") or 0, (b.get("stats") or {}).get("n") or 0) < 2
    if ia and ib and None not in ia and None not in ib and not single:
        apart = ia[1] < ib[0] or ib[1] < ia[0]
        return ("changed" if apart else "within noise"), ("intervals apart" if apart else "intervals overlap")
    return "no interval", "a single value each: no test possible"


def compare(a: dict, b: dict, everything: bool = False) -> dict:
    """The comparison of run ``b`` against run ``a``: rows per (variant, metric), variant status
    changes, gate changes."""
    same_machine = (a.get("environment", {}).get("machine_fingerprint")
                    == b.get("environment", {}).get("machine_fingerprint"))
    index_a = {(m["variant"], m["name"]): m for m in a.get("measurements", [])}
    rows = []
    for m in b.get("measurements", []):
        key = (m["variant"], m["name"])
        if key not in index_a:
            continue
        if not everything and not any(fnmatch.fnmatchcase(m["name"], h) for h in HEADLINE):
            continue
        old = index_a[key]
        va, vb = old.get("value"), m.get("value")
        change = (vb / va - 1) if va not in (None, 0) and vb is not None else None
        if m.get("suite") not in QUALITY_SUITES and not same_machine:
            verdict, how = "not compared", "different machines: performance figures are not comparable"
        else:
            verdict, how = judge_change(old, m)
        rows.append({"variant": m["variant"], "suite": m.get("suite"), "metric": m["name"], "unit": m.get("unit"),
                     "a": va, "b": vb, "change": change, "verdict": verdict, "how": how})
    status_a = {v["id"]: v.get("status") for v in a.get("variants", [])}
    statuses = [(v["id"], status_a.get(v["id"]), v.get("status")) for v in b.get("variants", [])
                if status_a.get(v["id"]) != v.get("status")]
    gates_a = {(g["gate"], g["variant"]): outcome_of(g) for g in (a.get("gates") or {}).get("results", [])}
    gates = [(g["gate"], g["variant"], gates_a.get((g["gate"], g["variant"])), outcome_of(g))
             for g in (b.get("gates") or {}).get("results", []) if gates_a.get((g["gate"], g["variant"])) != outcome_of(g)]
    return {"a": a["run"]["id"], "b": b["run"]["id"], "same_machine": same_machine, "rows": rows,
            "statuses": statuses, "gates": gates}


def render(result: dict) -> str:
    lines = [f"# {result['b']} compared with {result['a']}", ""]
    if not result["same_machine"]:
        lines += ["The runs were made on different machines: performance figures are listed, not compared.", ""]
    changed = [r for r in result["rows"] if r["verdict"] == "changed"]
    lines += [f"{len(changed)} of {len(result['rows'])} figures changed beyond noise (p < {ALPHA} or 95 % "
              f"intervals apart).", "",
              "| variant | metric | A | B | change | verdict | how decided |", "| --- | --- | ---: | ---: | ---: | --- | --- |"]
    for r in result["rows"]:
        change = "—" if r["change"] is None or not math.isfinite(r["change"]) else f"{r['change']:+.1%}"
        verdict = f"**{r['verdict']}**" if r["verdict"] == "changed" else r["verdict"]
        lines.append(f"| `{r['variant']}` | {r['metric']} | {fmt(r['a'])} | {fmt(r['b'])} | {change} | {verdict} | {r['how']} |")
    if result["statuses"]:
        lines += ["", "Variant status changes: " + "; ".join(f"`{v}` {x} → {y}" for v, x, y in result["statuses"])]
    if result["gates"]:
        lines += ["", "Gate changes: " + "; ".join(f"{g} on `{v}` {x or 'absent'} → {y}" for g, v, x, y in result["gates"])]
    return "\n".join(lines) + "\n"
