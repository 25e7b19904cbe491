"""The report's performance sections: each variant's timing and memory figures (the columns the
metric registry names), and the runtime comparison of ``--runtimes``."""

from __future__ import annotations

from harness.common.formatting import fmt, with_interval
from harness.measure.metrics import METRICS
from harness.report.section import Section
from harness.results.runtimes import comparisons
from harness.results.view import RunResults

# (column title, measurement name, scale): the performance figures per variant, as the registry defines them
PERFORMANCE_COLUMNS = tuple((m.column, m.name, m.scale) for m in METRICS if m.column)


def performance(results: RunResults) -> Section | None:
    variants = [v.id for v in results.variants if any(results.find(v.id, c[1]) for c in PERFORMANCE_COLUMNS)]
    if not variants:
        return None
    columns = [c for c in PERFORMANCE_COLUMNS if any(results.find(v, c[1]) for v in variants)]
    rows = []
    for vid in variants:
        cells = [f"`{vid}`"]
        for _, name, scale in columns:
            m = results.find(vid, name)
            if m is None or m.value is None:
                cells.append("—")
                continue
            scaled = [x * scale for x in m.interval] if m.interval and None not in m.interval else None
            cells.append(with_interval(m.value * scale, scaled))
        rows.append(cells)
    return Section(
        "Performance per variant",
        "performance",
        text=[
            "Median [95 % interval] (fits: slope [95 % interval]); warm-ups excluded. Definitions: "
            "docs/reference/metrics.md."
        ],
        header=["variant"] + [c[0] for c in columns],
        rows=rows,
    )


def runtimes(results: RunResults) -> Section | None:
    found = comparisons(results)
    if not found:
        return None

    def version(runtime: dict | None) -> str:
        return f"onnxruntime-genai {runtime['onnxruntime-genai']}" if runtime else "its runtime"

    text = [
        "Does the runtime upgrade change our model's speed or answers? Each variant measured under "
        "another onnxruntime-genai release against the same build under the main environment's runtime, "
        "in this run: speed figures tested as `python -m harness compare` does (Holm–Bonferroni over "
        "each variant's figures, then the metric's minimum effect)."
    ]
    rows = []
    for c in found:
        kld, top1 = c["kld"], c["top1"]
        logits = (
            "no logits compared"
            if kld is None
            else f"KLD between the two runtimes {fmt(kld.value)}, top-1 agreement {fmt(top1.value) if top1 else '—'}"
        )
        answers = (
            f"{c['same_answers']} of {c['answers']} greedy answers the same" if c["answers"] else "no answers compared"
        )
        text.append(
            f"`{c['variant']}` ({version(c['runtime'])}) against `{c['twin']}` "
            f"({version(c['twin_runtime'])}): {answers}; {logits}."
        )
        for r in c["rows"]:
            change = "—" if r["change"] is None else f"{r['change']:+.1%}"
            rows.append([f"`{c['variant']}`", r["metric"], fmt(r["a"]), fmt(r["b"]), change, r["verdict"], r["how"]])
    return Section(
        "Runtimes",
        "runtimes",
        text=text,
        header=["variant", "figure", "main runtime", "this runtime", "change", "verdict", "how decided"],
        rows=rows,
    )
