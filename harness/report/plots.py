"""The report's plots, drawn with matplotlib (Agg, no display) from a run's results.

Each function returns a figure, or None when the run has nothing to draw for it; :func:`draw_all`
saves every figure there is as PNG and returns ``{name: path}``. Colours follow the precision so
a variant looks the same in every plot.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter, MaxNLocator

from harness.common.files import write_atomic
from harness.report.search import TITLE as SEARCH_TITLE
from harness.report.search import search_plot
from harness.results.precision import precision_table
from harness.results.view import RunResults
from harness.variants.builders import BUILDERS

COLOURS = {"fp32": "#1f4e79", "fp16": "#2e86c1", "int8": "#d68910", "int4": "#c0392b", "mixed": "#7d3c98"}
TITLES = {
    "latency": "Latency and throughput per variant",
    "quality_tradeoff": "Quality against size and speed (Pareto front marked)",
    "input_length": "Decode speed and time to first token against input length",
    "soak_rss": "Worker RSS over the soak iterations",
    "kld_distribution": "KL divergence from the reference, per token",
    "search": SEARCH_TITLE,
}


def _colour(precision: str | None) -> str:
    """A precision's colour."""
    return COLOURS.get(precision, "#555555")


def _hatch(builder: str | None) -> str | None:
    """Variants of other builders (int4-olive-cpu, int4-gptq-cpu) are hatched, in their
    precision's colour."""
    found = BUILDERS.get(builder)
    return found.hatch if found else None


def _colour_of(results: RunResults, variant_id: str) -> str:
    record = results.variant(variant_id)
    return _colour(record.precision if record else None)


def _errors(value, interval):
    if value is None or not interval or None in interval:
        return [[0], [0]]
    return [[max(value - interval[0], 0)], [max(interval[1] - value, 0)]]


def _style(ax, title: str, xlabel: str | None = None, ylabel: str | None = None) -> None:
    ax.set_title(title, fontsize=10, loc="left")
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def latency(results: RunResults):
    rows = [r for r in precision_table(results) if r["ttft_ms"] is not None or r["decode_tps"] is not None]
    if not rows:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, key, label in (
        (axes[0], "ttft_ms", "TTFT, ms (lower is better)"),
        (axes[1], "decode_tps", "decode tokens/s (higher is better)"),
    ):
        for i, r in enumerate(rows):
            if r[key] is None:
                continue
            ax.bar(i, r[key], color=_colour(r["precision"]), alpha=0.85, hatch=_hatch(r["builder"]), edgecolor="white")
            ax.errorbar(i, r[key], yerr=_errors(r[key], r[f"{key}_ci"]), color="black", capsize=4, lw=1)
        crowded = len(rows) > 4
        ax.set_xticks(
            range(len(rows)),
            [r["variant"] for r in rows],
            rotation=30 if crowded else 0,
            ha="right" if crowded else "center",
            fontsize=8 if crowded else 10,
        )
        _style(ax, label)
    fig.suptitle("Median with its 95 % interval (order statistics)", fontsize=9, x=0.01, ha="left", color="#555555")
    fig.tight_layout()
    return fig


def pareto_front(points: list[tuple[float, float, str]], lower_x: bool = True) -> list[str]:
    """Labels of the points no other point beats on both axes (x: cost, lower is better unless
    ``lower_x`` is False; y: quality, higher is better)."""
    front = []
    for x, y, label in points:
        dominated = any((ox <= x if lower_x else ox >= x) and oy >= y and (ox, oy) != (x, y) for ox, oy, _ in points)
        if not dominated:
            front.append(label)
    return front


def quality_tradeoff(results: RunResults):
    rows = [
        r for r in precision_table(results) if r["size_mb"] and (r["accuracy"] is not None or r["kld_mean"] is not None)
    ]
    if not rows:
        return None
    panels = [("size_mb", True, "size on disk, MB")]
    if any(r["decode_tps"] for r in rows):
        panels.append(("decode_tps", False, "decode tokens/s"))
    quality = "accuracy" if any(r["accuracy"] is not None for r in rows) else None
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.8), squeeze=False)
    for ax, (key, lower, xlabel) in zip(axes[0], panels):
        usable = [r for r in rows if r.get(key) is not None and r.get(quality or "kld_mean") is not None]
        if quality:
            points = [(r[key], r["accuracy"], r["variant"]) for r in usable]
        else:  # no task score: closeness (lower KLD is better, so its negative is the quality)
            points = [(r[key], -r["kld_mean"], r["variant"]) for r in usable]
        front = pareto_front(points, lower)
        x_span = (max(p[0] for p in points) - min(p[0] for p in points)) if points else 0
        labelled: list[tuple[float, float]] = []  # points whose label is drawn, to stack close ones
        for r in usable:
            y = r["accuracy"] if quality else r["kld_mean"]
            yerr = _errors(y, r["accuracy_ci"]) if quality else [[0], [0]]
            ax.errorbar(
                r[key],
                y,
                yerr=yerr,
                fmt="o",
                color=_colour(r["precision"]),
                capsize=4,
                markersize=9 if r["variant"] in front else 6,
                markeredgecolor="black" if r["variant"] in front else _colour(r["precision"]),
            )
            close = sum(1 for px, py in labelled if abs(px - r[key]) <= 0.05 * x_span and py == y)
            ax.annotate(r["variant"], (r[key], y), textcoords="offset points", xytext=(6, 6 + 10 * close), fontsize=8)
            labelled.append((r[key], y))
        ordered = sorted((p for p in points if p[2] in front), key=lambda p: p[0])
        if len(ordered) > 1:
            ys = [p[1] if quality else -p[1] for p in ordered]
            ax.step([p[0] for p in ordered], ys, where="post", color="#555555", lw=1, ls="--", label="Pareto front")
            ax.legend(fontsize=8, loc="lower right")
        if lower is False:
            ax.invert_xaxis()  # cheaper to the left in both panels: here, faster is "cheaper"
        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}" if abs(x) >= 100 else f"{x:g}"))
        _style(
            ax,
            f"{'accuracy' if quality else 'KLD'} against {xlabel}",
            xlabel,
            (rows[0]["accuracy_metric"] + " [Wilson 95 %]") if quality else "KLD mean (lower is better)",
        )
    fig.tight_layout()
    return fig


def input_length(results: RunResults):
    series: dict[str, dict[str, list]] = {}
    for m in results.of(name="*@*"):
        metric, length = m.name.split("@")
        if metric in ("decode_tps", "ttft_ms"):
            series.setdefault(m.variant, {}).setdefault(metric, []).append((int(length), m.value, m.interval))
    if not series:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, metric, label in ((axes[0], "decode_tps", "decode tokens/s"), (axes[1], "ttft_ms", "TTFT, ms")):
        for variant, by_metric in series.items():
            points = sorted(by_metric.get(metric, []))
            if not points:
                continue
            xs = [p[0] for p in points]
            ys = [p[1] for p in points]
            low = [p[2][0] if p[2] else p[1] for p in points]
            high = [p[2][1] if p[2] else p[1] for p in points]
            colour = _colour_of(results, variant)
            ax.plot(xs, ys, "o-", color=colour, label=variant, markersize=4)
            ax.fill_between(xs, low, high, color=colour, alpha=0.15)
        _style(ax, f"{label} against prompt length", "prompt tokens", label)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def soak_rss(results: RunResults):
    fits = [m for m in results.of(name="leak_kib_per_iter_*") if m.extra.get("x")]
    if not fits:
        return None
    modes = sorted({m.name.rsplit("_", 1)[1] for m in fits})
    fig, axes = plt.subplots(1, len(modes), figsize=(5 * len(modes), 3.6), squeeze=False)
    for ax, mode in zip(axes[0], modes):
        for m in (f for f in fits if f.name.endswith(mode)):
            xs = np.asarray(m.extra["x"])
            ys = np.asarray(m.samples) / 1024  # KiB -> MiB
            ax.plot(xs, ys, color=_colour_of(results, m.variant), lw=1, label=f"{m.variant}: {m.value:.2f} KiB/iter")
        _style(ax, f"{mode} generator per request", "iteration (after warm-up)", "RSS, MiB")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def kld_distribution(results: RunResults):
    records = [m for m in results.of(name="kld_mean") if m.samples]
    if not records:
        return None
    fig, ax = plt.subplots(figsize=(10, 3.6))
    for m in records:
        values = np.sort(np.clip(np.asarray(m.samples, dtype=float), 1e-9, None))
        share = np.arange(1, len(values) + 1) / len(values)
        ax.plot(values, share, color=_colour_of(results, m.variant), label=f"{m.variant} (mean {m.value:.3g})")
    ax.set_xscale("log")
    _style(
        ax,
        f"cumulative share of tokens, KLD from {records[0].extra.get('reference', 'the reference')}",
        "KL divergence per token (nats, log scale; ≤1e-9 shown at 1e-9)",
        "share of tokens",
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


PLOTS = {
    "latency": latency,
    "quality_tradeoff": quality_tradeoff,
    "input_length": input_length,
    "soak_rss": soak_rss,
    "kld_distribution": kld_distribution,
    "search": search_plot,
}


def draw_all(results: RunResults, folder: Path) -> dict[str, Path]:
    """Save every plot the run has data for as ``folder/<name>.png``."""
    saved = {}
    for name, draw in PLOTS.items():
        fig = draw(results)
        if fig is None:
            continue
        path = folder / f"{name}.png"
        try:
            write_atomic(path, lambda fh, fig=fig: fig.savefig(fh, format="png", dpi=110))
        finally:
            plt.close(fig)
        saved[name] = path
    return saved
