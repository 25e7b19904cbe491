"""The report's part of ``--search``: the plot of every candidate, the section that explains the
chosen mix, and the plan files written beside results.json (``plan-mixed-cpu.json``, what
``--plan`` takes to build that mix again)."""

from __future__ import annotations

from pathlib import Path

from harness.results.view import RunResults, VariantRecord

TITLE = "The mixed-precision search: every candidate's size against its KLD on the search text"


def searched(results: RunResults) -> list[VariantRecord]:
    """The variants whose plan a search made, with their search record."""
    return [v for v in results.variants if v.record.get("search")]


def search_plot(results: RunResults):
    """Size against KLD per candidate, the gate line, the Pareto front and the chosen point."""
    variants = searched(results)
    if not variants:
        return None
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(variants), figsize=(10, 4.2), squeeze=False)
    for ax, variant in zip(axes[0], variants):
        record = variant.record["search"]
        candidates = record["candidates"]
        for passes, colour, label in ((True, "#2e7d32", "passes the gates"), (False, "#9e9e9e", "misses a gate")):
            chosen = [c for c in candidates if c["passes"] == passes and c.get("verified", True)]
            ax.scatter(
                [c["size_bytes"] / 1e6 for c in chosen],
                [c["figures"]["kld_mean"] for c in chosen],
                s=18,
                color=colour,
                label=label,
                zorder=2,
            )
        probes = [c for c in candidates if not c.get("verified", True)]
        if probes:
            ax.scatter(
                [c["size_bytes"] / 1e6 for c in probes],
                [c["figures"]["kld_mean"] for c in probes],
                s=18,
                marker="^",
                facecolors="none",
                edgecolors="#1f77b4",
                zorder=2,
                label=f"sensitivity probe ({record.get('probe_chunks', '?')} of {record.get('chunks', '?')} chunks)",
            )
        front = [candidates[i] for i in record["pareto"]]
        ax.plot(
            [c["size_bytes"] / 1e6 for c in front],
            [c["figures"]["kld_mean"] for c in front],
            color="#555555",
            linewidth=1,
            linestyle="--",
            label="Pareto front",
            zorder=1,
        )
        best = candidates[record["chosen"]]
        ax.scatter(
            [best["size_bytes"] / 1e6],
            [best["figures"]["kld_mean"]],
            s=140,
            facecolors="none",
            edgecolors="#c0392b",
            linewidths=2,
            label="chosen",
            zorder=3,
        )
        for gate in record["gates"]:
            metric, _, value = gate.split()
            if metric == "kld_mean":
                ax.axhline(float(value), color="#c0392b", linewidth=1, label=f"gate {gate}")
        ax.set_yscale("log")
        ax.set_title(f"{variant.id}: {len(candidates)} candidates", fontsize=10, loc="left")
        ax.set_xlabel("grouped weights, MB")
        ax.set_ylabel("kld_mean on the search text (log)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def search_section(results: RunResults) -> dict | None:
    """The section's paragraphs and table (``text``, ``header``, ``rows``, ``collapsed``), or None."""
    from harness.variants.mixed import plan_summary
    from harness.variants.search import describe_choice

    variants = searched(results)
    planned = [v for v in results.variants if v.record.get("plan") and not v.record.get("search")]
    if not variants and not planned:
        return None
    text = []
    rows = []
    for variant in variants:
        record = variant.record["search"]
        text.append(
            f"`{variant.id}`: {describe_choice(record)} Its plan is `plan-{variant.id}.json` in "
            f"this run's folder; `--plan` on it builds the same mix without searching."
        )
        for index, c in enumerate(record["candidates"], 1):
            rows.append(
                [
                    f"`{variant.id}`",
                    str(index),
                    c["step"],
                    c["group"] or "—",
                    f"{c['size_bytes'] / 1e6:.2f}",
                    f"{c['figures']['kld_mean']:.4g}",
                    f"{c['figures'].get('top1_agreement', float('nan')):.4f}",
                    "ranks only"
                    if not c.get("verified", True)
                    else "passes"
                    if c["passes"]
                    else "; ".join(c["missed"]),
                    "chosen" if index - 1 == record["chosen"] else ("kept" if c["accepted"] else ""),
                ]
            )
    for variant in planned:
        text.append(
            f"`{variant.id}` was built from the plan file `{variant.record.get('plan_file')}` (no search "
            f"in this run): {plan_summary(variant.record['plan'])}."
        )
    return {
        "text": text,
        "rows": rows,
        "collapsed": len(rows) > 12,
        "header": [
            "variant",
            "#",
            "step",
            "group moved (promote: to float; else to INT4)",
            "MB",
            "kld_mean",
            "top-1",
            "gates",
            "",
        ],
    }


def write_plans(run_dir: Path, results: RunResults) -> list[Path]:
    """``plan-<variant>.json`` for every mixed variant of the run: its groups, the model, and what
    the search measured."""
    from harness.variants.mixed import write_plan

    written = []
    for variant in results.variants:
        if variant.record.get("plan"):
            path = Path(run_dir) / f"plan-{variant.id}.json"
            write_plan(path, variant.record["plan"], results.model, variant.record.get("search"))
            written.append(path)
    return written
