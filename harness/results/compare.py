"""``python -m harness compare RUN_A RUN_B``: what changed between two runs, whether it is more than
noise, and whether it is large enough to matter.

Each figure both runs measured gets one raw p-value:

- a share (pass/fail outcomes): Fisher's exact test on the two runs' successes and failures;
- a median or mean of raw samples (three or more each): the two-sided Mann–Whitney U test;
- anything else with an interval over several values (a fitted slope, a statistic with its
  uncertainty): a Wald test on the difference, ``z = (b - a) / sqrt(se_a² + se_b²)``.

The Wald test replaces the old rule "the two 95 % intervals do not overlap". Every such record
already carries what a standard error needs: an estimate keeps its standard uncertainty, and a fit
keeps the 95 % interval of its slope, which is its estimate ± a known quantile times the standard
error (Student's t with n - 2 degrees of freedom for a least-squares line, the normal 1.96 for a
Theil–Sen slope, whose interval scipy derives from the normal approximation). Overlap of two
intervals has no stated error rate and no p-value to correct; the Wald p joins the others.

The figures of one comparison are one family: their p-values are adjusted with the Holm–Bonferroni
step-down method, which keeps the chance of any false "changed" at ``ALPHA`` whatever the number of
figures. A figure is significant when its adjusted p is below ``ALPHA``. Significance alone says
nothing about size, so a significant figure is ``changed`` only when it moved by at least the
minimum effect of its metric (``MIN_EFFECT``, overridden by ``--min-effect``); otherwise it is
``significant, below minimum effect``. Not significant: ``within noise``.

Figures without a test (a single value on either side) and performance figures from runs on
different machines (another machine fingerprint: not compared, the row says so) are not part of
the family.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Mapping

from scipy.stats import fisher_exact, mannwhitneyu, norm
from scipy.stats import t as student_t

from harness.common.formatting import fmt
from harness.errors import HarnessError
from harness.measure.metrics import METRICS, QUALITY_SUITES, is_known_metric, lookup, unknown_metric
from harness.measure.records import Measurement
from harness.results.view import RunResults, as_results

ALPHA = 0.05  # family-wise error rate of one comparison
CORRECTION = "Holm–Bonferroni"
CHANGED, SMALL, NOISE = "changed", "significant, below minimum effect", "within noise"
UNTESTED, NOT_COMPARED = "no interval", "not compared"
HEADLINE = tuple(m.name for m in METRICS if m.headline)  # compared without --all

RELATIVE, ABSOLUTE = "relative", "absolute"
# The smallest change that matters: (RELATIVE, share of run A's value) or (ABSOLUTE, amount in the
# metric's unit). Keys: a metric name or glob of the registry (harness.measure.metrics); "<unit>" for
# the metrics of that unit not named; "<*>" for the rest. Why each value: docs/reference/results.md.
MIN_EFFECT: dict[str, tuple[str, float]] = {
    "ppl_ratio": (ABSOLUTE, 0.01),  # 1 % of the reference's perplexity
    "ln_ppl_ratio": (ABSOLUTE, 0.01),  # the same on the log scale: ln(1.01) ≈ 0.01
    "bandwidth_efficiency": (RELATIVE, 0.05),  # a speed figure, like decode_tps
    "*_rss_delta_bytes": (ABSOLUTE, 1 << 20),  # small deltas: 1 MiB, not a share of them
    "<fraction>": (ABSOLUTE, 0.02),  # 2 percentage points of a share (quality, top-1 agreement)
    "<F1>": (ABSOLUTE, 0.02),
    "<nats/token>": (ABSOLUTE, 0.005),  # KLD: 5 % of the default close_to_reference gate (0.1)
    "<probability>": (ABSOLUTE, 0.01),  # Δp: one point of probability
    "<correlation>": (ABSOLUTE, 0.01),
    "<perplexity>": (RELATIVE, 0.01),
    "<KiB/iteration>": (ABSOLUTE, 4.0),  # a page per iteration, a quarter of the leak threshold (16)
    "<tokens/s per iteration>": (ABSOLUTE, 0.01),  # 3 tokens/s over the standard soak's 300 iterations
    "<*>": (RELATIVE, 0.05),  # times, speeds, bytes, ratios: 5 % of run A's value
}
_EFFECT_VALUE = re.compile(r"^(?P<k>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(?P<percent>%)?$")


def _entry(table: dict, name: str):
    """A table's entry for a metric: its own name first, then the first glob that matches it."""
    if name in table:
        return table[name]
    return next((v for k, v in table.items() if fnmatch.fnmatchcase(name, k)), None)


def min_effect(name: str, unit: str | None, overrides: dict | None = None) -> tuple[str, float]:
    """The minimum effect of a metric: the --min-effect overrides, else ``MIN_EFFECT`` by name,
    by unit (the registry's, else the record's), or the default."""
    metric = lookup(name)
    unit = metric.unit if metric else unit
    named = {k: v for k, v in MIN_EFFECT.items() if not k.startswith("<")}
    return _entry(overrides or {}, name) or _entry(named, name) or MIN_EFFECT.get(f"<{unit}>") or MIN_EFFECT["<*>"]


def parse_min_effects(texts: list[str]) -> dict[str, tuple[str, float]]:
    """``--min-effect METRIC=VALUE`` options: ``5%`` is a share of run A's value, a plain number an
    amount in the metric's unit. A later option for the same metric replaces an earlier one."""
    effects: dict[str, tuple[str, float]] = {}
    for text in texts:
        where = f"option --min-effect {text!r}"
        metric, sep, value = (part.strip() for part in text.partition("="))
        if not sep or not metric or not value:
            raise HarnessError(
                f"{where}: expected METRIC=VALUE, e.g. decode_tps=5% (relative) or "
                f"exact_match=0.02 (absolute, in the metric's unit)"
            )
        if not is_known_metric(metric):
            raise HarnessError(f"{where}: {unknown_metric(metric)}")
        found = _EFFECT_VALUE.match(value)
        if not found or not math.isfinite(float(found["k"])):
            raise HarnessError(
                f"{where}: cannot read the minimum effect {value!r}; use a non-negative number, "
                f"with % for a share of run A's value (5%) or without for an amount in the "
                f"metric's unit (0.02)"
            )
        k = float(found["k"])
        effects[metric] = (RELATIVE, k / 100) if found["percent"] else (ABSOLUTE, k)
    return effects


def holm(pvalues: list[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values, in the given order: sorted ascending, the i-th smallest
    (from 1) of m becomes the largest of min(1, (m - j + 1) p_(j)) over j <= i."""
    m, adjusted, running = len(pvalues), [0.0] * len(pvalues), 0.0
    for rank, i in enumerate(sorted(range(m), key=lambda i: pvalues[i])):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def _standard_error(record: Measurement) -> float | None:
    """One standard error: the record's uncertainty, else its 95 % interval's half width over the
    quantile it was made with."""
    stats = record.stats
    uncertainty = stats.get("uncertainty")
    if isinstance(uncertainty, (int, float)) and math.isfinite(uncertainty) and uncertainty >= 0:
        return float(uncertainty)
    interval = record.interval
    if not interval or None in interval:
        return None
    n = stats.get("n") or 0
    quantile = float(student_t.ppf(0.975, n - 2)) if "r2" in stats and n > 2 else float(norm.ppf(0.975))
    return (interval[1] - interval[0]) / (2 * quantile)


def raw_test(a: Measurement | Mapping, b: Measurement | Mapping) -> tuple[str, float] | None:
    """(test, raw two-sided p) for one metric measured in two runs; None when no test is possible."""
    a, b = (m if isinstance(m, Measurement) else Measurement.from_dict(m) for m in (a, b))
    if a.estimator == "proportion" and b.estimator == "proportion":
        sa, sb = a.stats, b.stats
        table = [[sa["successes"], sa["n"] - sa["successes"]], [sb["successes"], sb["n"] - sb["successes"]]]
        return "Fisher", float(fisher_exact(table).pvalue)
    if a.estimator in ("median", "mean") and len(a.samples) >= 3 and len(b.samples) >= 3:
        return "Mann-Whitney", float(mannwhitneyu(a.samples, b.samples, alternative="two-sided").pvalue)
    single = min(a.stats.get("n") or 0, b.stats.get("n") or 0) < 2
    se_a, se_b, va, vb = _standard_error(a), _standard_error(b), a.value, b.value
    if single or None in (se_a, se_b, va, vb):
        return None
    spread = math.hypot(se_a, se_b)
    p = float(2 * norm.sf(abs(vb - va) / spread)) if spread > 0 else (1.0 if va == vb else 0.0)
    return "Wald", p


def effect_of(a: float | None, b: float | None, kind: str) -> float | None:
    """How far B moved from A: |B - A|, or for RELATIVE |B - A| / |A| (infinite from 0)."""
    if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)):
        return None
    if kind == ABSOLUTE:
        return abs(b - a)
    return abs(b - a) / abs(a) if a else (0.0 if b == a else math.inf)


def _amount(kind: str, x: float) -> str:
    return f"{x * 100:.3g} %" if kind == RELATIVE else f"{x:.3g}"


def decide(adjusted_p: float, a: float | None, b: float | None, minimum: tuple[str, float]) -> tuple[str, str]:
    """(verdict, what decided it beyond the p-values) for a tested figure."""
    if not adjusted_p < ALPHA:
        return NOISE, ""
    kind, size = minimum
    effect = effect_of(a, b, kind)
    if effect is None:  # no value to measure the effect on (no "|" here: the row is a Markdown table's)
        return SMALL, f"; no effect to hold against the minimum {_amount(kind, size)}"
    large = effect >= size
    return (CHANGED if large else SMALL), (
        f"; effect {_amount(kind, effect)} {'≥' if large else '<'} minimum {_amount(kind, size)}"
    )


def compare(
    a: RunResults | dict, b: RunResults | dict, everything: bool = False, min_effects: dict | None = None
) -> dict:
    """The comparison of run ``b`` against run ``a``: rows per (variant, metric), variant status
    changes, gate changes. ``min_effects``: overrides of ``MIN_EFFECT`` (:func:`parse_min_effects`)."""
    a, b = as_results(a), as_results(b)
    same_machine = a.environment.get("machine_fingerprint") == b.environment.get("machine_fingerprint")
    rows, tests = [], []
    for m in b.measurements:
        old = a.find(m.variant, m.name)
        if old is None:
            continue
        if not everything and not any(fnmatch.fnmatchcase(m.name, h) for h in HEADLINE):
            continue
        va, vb = old.value, m.value
        change = (vb / va - 1) if va not in (None, 0) and vb is not None else None
        row = {
            "variant": m.variant,
            "suite": m.suite,
            "metric": m.name,
            "unit": m.unit,
            "a": va,
            "b": vb,
            "change": change,
            "verdict": UNTESTED,
            "how": "a single value each: no test possible",
            "p": None,
            "holm_p": None,
        }
        if m.suite not in QUALITY_SUITES and not same_machine:
            row.update(verdict=NOT_COMPARED, how="different machines: performance figures are not comparable")
        else:
            test = raw_test(old, m)
            if test is not None and math.isfinite(test[1]):
                row["how"], row["p"] = test
                tests.append(row)
        rows.append(row)
    for row, adjusted in zip(tests, holm([row["p"] for row in tests])):
        verdict, why = decide(adjusted, row["a"], row["b"], min_effect(row["metric"], row["unit"], min_effects))
        row.update(
            verdict=verdict,
            holm_p=adjusted,
            how=f"{row['how']} p={row['p']:.2g}, Holm p={adjusted:.2g} of {len(tests)}{why}",
        )
    status_a = {v.id: v.status for v in a.variants}
    statuses = [(v.id, status_a.get(v.id), v.status) for v in b.variants if status_a.get(v.id) != v.status]
    gates_a = {(g.gate, g.variant): g.outcome for g in a.gate_results}
    gates = [
        (g.gate, g.variant, gates_a.get((g.gate, g.variant)), g.outcome)
        for g in b.gate_results
        if gates_a.get((g.gate, g.variant)) != g.outcome
    ]
    models = [_model_label(run) for run in (a, b)]
    return {
        "a": a.run_id,
        "b": b.run_id,
        "same_machine": same_machine,
        "rows": rows,
        "statuses": statuses,
        "gates": gates,
        "models": None if models[0] == models[1] else models,
    }


def _model_label(run: RunResults) -> str:
    model = run.model
    return f"{model.get('name', 'an unnamed model')} ({str(model.get('content_hash', 'no content hash'))[:12]})"


def render(result: dict) -> str:
    models = result.get("models")
    if models:  # said first: every change below mixes the model's change with anything else's
        lines = [
            f"# {result['b']} compared with {result['a']}: runs of different models, {models[0]} in "
            f"{result['a']} and {models[1]} in {result['b']}",
            "",
            "Every difference below is the models' difference as much as anything else's.",
            "",
        ]
    else:
        lines = [f"# {result['b']} compared with {result['a']}", ""]
    if not result["same_machine"]:
        lines += ["The runs were made on different machines: performance figures are listed, not compared.", ""]
    count = {v: sum(1 for r in result["rows"] if r["verdict"] == v) for v in (CHANGED, SMALL, NOISE)}
    summary = (
        f"{sum(count.values())} of {len(result['rows'])} figures tested, {CORRECTION} corrected (family-wise "
        f"error rate {ALPHA}): {count[CHANGED]} changed, {count[SMALL]} significant but below their minimum "
        f"effect, {count[NOISE]} within noise."
    )
    lines += [
        summary,
        "",
        "| variant | metric | A | B | change | verdict | how decided |",
        "| --- | --- | ---: | ---: | ---: | --- | --- |",
    ]
    for r in result["rows"]:
        change = "—" if r["change"] is None or not math.isfinite(r["change"]) else f"{r['change']:+.1%}"
        verdict = f"**{r['verdict']}**" if r["verdict"] == CHANGED else r["verdict"]
        lines.append(
            f"| `{r['variant']}` | {r['metric']} | {fmt(r['a'])} | {fmt(r['b'])} | {change} | {verdict} | {r['how']} |"
        )
    if result["statuses"]:
        lines += [
            "",
            "Variant status changes: " + "; ".join(f"`{v}` {x or 'new'} → {y}" for v, x, y in result["statuses"]),
        ]
    if result["gates"]:
        lines += [
            "",
            "Gate changes: " + "; ".join(f"{g} on `{v}` {x or 'absent'} → {y}" for g, v, x, y in result["gates"]),
        ]
    return "\n".join(lines) + "\n"
