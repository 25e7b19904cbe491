"""Release gates: thresholds on measured metrics, each judged per variant.

A gate is declared in ``[tool.harness.gates]`` (or a TOML file given with ``--gates-file``) as
``name = "METRIC OP THRESHOLD"`` or ``name = {check = "...", precisions = [...], providers =
[...], interval = true, description = "..."}``:

- ``METRIC`` is a measurement name (``exact_match``, ``kld_mean``, ``decode_tps``, ...), or
  ``suite:name`` when two suites measure the same name, or a glob (``leak_kib_per_iter_*``) that
  every matching measurement must pass;
- ``OP`` is one of ``>=``, ``<=``, ``>``, ``<``;
- ``THRESHOLD`` is a number, or relative to the reference variant or the baseline run:
  ``reference - 0.03``, ``reference + 0.1``, ``0.9 * baseline``, ``baseline``.

With ``interval = true`` the gate uses the side of the 95 % interval that must clear the threshold
(the lower bound for ``>=``, the upper bound for ``<=``), so a variant passes only when the
threshold is cleared with confidence. With ``interval = "lenient"`` it uses the other side, so a
variant fails only when the miss is established (a leak is a slope whose lower bound is above the
threshold). The reference and baseline sides use their point values.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from difflib import get_close_matches

from harness.errors import HarnessError
from harness.gates.spec import CLOSENESS_METRICS, MEASURED_BY, TASK_METRICS, Gate
from harness.measure.metrics import QUALITY_SUITES
from harness.measure.records import Measurement
from harness.results.view import NOT_APPLICABLE, RunResults, VariantRecord, as_results


@dataclass
class Judgement:
    gate: str
    variant: str
    status: str  # one of harness.results.view.OUTCOMES
    message: str
    checks: list[dict] = field(default_factory=list)  # one per matching measurement
    judged: bool = True  # False: failed because a measurement it needs is missing
    # not applicable because this run did not measure it: "benchmark" (the performance suites
    # run only with --benchmark), "suite" (its suite was deselected or skipped); None otherwise
    unmeasured: str | None = None

    def to_record(self, gate: Gate) -> dict:
        record = {
            "gate": self.gate,
            "variant": self.variant,
            "check": gate.check,
            "status": self.status,
            "passed": self.status == "passed",
            "judged": self.judged,
            "message": self.message,
            "measurements": self.checks,
        }
        if self.unmeasured:
            record["unmeasured"] = self.unmeasured
        return record


def strict(judgement: Judgement) -> Judgement:
    """``--strict-gates``: a gate that does not apply fails too (every listed gate must be judged)."""
    if judgement.status != NOT_APPLICABLE:
        return judgement
    return Judgement(
        judgement.gate,
        judgement.variant,
        "failed",
        f"{judgement.message} (not applicable, and --strict-gates requires every gate judged)",
        judged=False,
    )


def _find(results: RunResults, variant: str, metric: str) -> list[Measurement]:
    suite, _, name = metric.rpartition(":")
    by_name: dict[str, list[Measurement]] = {}
    for m in results.of(variant, name, suite or None):
        by_name.setdefault(m.name, []).append(m)
    for name, records in by_name.items():
        suites = {m.suite for m in records}
        if len(suites) > 1:
            raise HarnessError(
                f"metric {name!r} is measured by several suites ({', '.join(sorted(suites))}) "
                f"for {variant}; write it as suite:{name}"
            )
    return [records[-1] for records in by_name.values()]


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.4g}"


@dataclass(frozen=True)
class Problem:
    """Why a gate's threshold could not be set: ``NOT_APPLICABLE`` (by design), ``UNJUDGED`` (a
    figure it needs is missing) or ``FAILED`` (a comparison the gate refuses)."""

    kind: str
    reason: str


UNJUDGED, FAILED = "unjudged", "failed"


def judge(
    gate: Gate,
    variant: VariantRecord | Mapping,
    results: RunResults | Mapping,
    *,
    reference: str | None,
    baseline: RunResults | Mapping | None = None,
    allow_foreign_baseline: bool = False,
    benchmark: bool | None = None,
) -> Judgement:
    """Judge one gate for one variant of ``results``; ``benchmark`` says whether the performance
    suites ran.

    A gate that does not apply by design (the data set has no such check, the reference compared
    with itself, a performance metric without ``--benchmark``, a baseline gate without a
    baseline, a suite that did not run or was skipped) is ``not_applicable``. A gate whose
    measurement is missing for any other reason (a crashed worker, a failed suite, a suite that
    passed without recording it) *could not be judged* and fails, so a gap never passes."""
    results = as_results(results)
    baseline = None if baseline is None else as_results(baseline)
    variant = variant if isinstance(variant, VariantRecord) else VariantRecord.from_dict(variant)
    vid = variant.id
    where = f"gate '{gate.name}' ({gate.check})"

    def not_applicable(message: str, unmeasured: str | None = None) -> Judgement:
        return Judgement(gate.name, vid, NOT_APPLICABLE, f"{where}: not applicable: {message}", unmeasured=unmeasured)

    def unjudged(message: str) -> Judgement:
        return Judgement(gate.name, vid, "failed", f"{where} could not be judged: {message}", judged=False)

    if gate.base == "reference" and vid == reference:
        return not_applicable(f"{vid} is the reference (compared with itself)")
    found = _find(results, vid, gate.metric)
    if not found:
        names = sorted({m.name for m in results.of(vid)})
        hint = get_close_matches(gate.metric, names, n=1)
        by_design, unmeasured = _not_applicable_reason(gate.metric, variant, reference, results, benchmark)
        if by_design:
            return not_applicable(by_design, unmeasured)
        failed = variant.failed_tests()
        return unjudged(
            f"{gate.metric} was not measured for {vid}"
            + (f" (failed tests of {vid}: {', '.join(failed)})" if failed else "")
            + (f"; did you mean {hint[0]!r}?" if hint else "")
        )
    checks, failures = [], []
    for m in found:
        value, interval = m.value, m.interval
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return unjudged(f"{m.name} of {vid} has no value")
        threshold = _threshold(gate, m, vid, reference, results, baseline, allow_foreign_baseline)
        if isinstance(threshold, Problem):
            if threshold.kind == NOT_APPLICABLE:
                return not_applicable(threshold.reason)
            if threshold.kind == UNJUDGED:
                return unjudged(threshold.reason)
            failures.append(threshold.reason)
            checks.append(
                {"name": m.name, "value": value, "interval": interval, "passed": False, "message": threshold.reason}
            )
            continue
        threshold, explained = threshold
        passed, used, side = gate.decide(value, interval, threshold)
        shown = f"{_fmt(value)}" + (
            f" [{_fmt(interval[0])}, {_fmt(interval[1])}]" if interval and None not in interval else ""
        )
        judged = f"; {side} {_fmt(used)}" if side != "value" else ""
        text = f"{vid} {m.name} = {shown}{judged} {'is' if passed else 'is not'} {gate.op} {_fmt(threshold)}{explained}"
        checks.append(
            {
                "name": m.name,
                "value": value,
                "interval": interval,
                "used": used,
                "threshold": threshold,
                "passed": passed,
                "message": text,
            }
        )
        if not passed:
            failures.append(text)
    if failures:
        return Judgement(gate.name, vid, "failed", f"{where}: " + "; ".join(failures), checks)
    return Judgement(
        gate.name, vid, "passed", f"gate '{gate.name}': " + "; ".join(c["message"] for c in checks), checks
    )


def _not_applicable_reason(
    metric: str, variant: VariantRecord, reference: str | None, results: RunResults, benchmark: bool | None
) -> tuple[str, str | None]:
    """Why a metric that was not measured does not apply to this run by design ('' if it should
    have been measured), and whether only this run's choice left it unmeasured (``"benchmark"``:
    no --benchmark; ``"suite"``: its suite deselected or skipped; None: by design)."""
    pattern = metric.rpartition(":")[2]
    vid = variant.id

    def matches(names) -> bool:
        return any(fnmatch.fnmatchcase(n, pattern) for n in names)

    if matches(CLOSENESS_METRICS) and vid == reference:
        return "the reference is not compared with itself", None
    if benchmark is False and not matches(CLOSENESS_METRICS + TASK_METRICS):
        return "performance suites run only with --benchmark", "benchmark"
    datasets = results.datasets
    carried = datasets[0].get("checks") if datasets else None
    if carried is not None and matches(TASK_METRICS):
        wanted = [n for n in TASK_METRICS if fnmatch.fnmatchcase(n, pattern)]
        needs = {n: ("reference" if n == "smoke_exact_match" else n) for n in wanted}
        if not any(carried.get(need, 0) for need in needs.values()):
            return (
                f"the evaluation set {datasets[0].get('name')} has no record with "
                f"{' or '.join(sorted(set(needs.values())))}",
                None,
            )
    files = [f for f, names in MEASURED_BY.items() if matches(names)]
    ran = {test: outcome for test, outcome in variant.tests.items() if test.split("::")[0] in files}
    if not ran:
        return f"its suite ({', '.join(files)}) did not run for {vid} in this run", "suite"
    if all(outcome == "skipped" for outcome in ran.values()):
        return f"its suite's tests were skipped for {vid} ({', '.join(sorted(ran))})", "suite"
    return "", None


def _threshold(
    gate: Gate,
    m: Measurement,
    vid: str,
    reference: str | None,
    results: RunResults,
    baseline: RunResults | None,
    allow_foreign: bool,
) -> tuple[float, str] | Problem:
    """(threshold, how it was reached), or the :class:`Problem` that keeps it from being set."""
    if gate.base is None:
        return gate.k, ""
    if gate.base == "reference":
        if reference is None:
            return Problem(UNJUDGED, f"no runnable reference variant for {vid}")
        label = f"reference {reference}"
        found = _find(results, reference, f"{m.suite}:{m.name}")
        other = found[0].value if found else None
        figure = m.extra.get("reference_figure") or {}
        if not found and figure.get("variant") == reference and figure.get("value") is not None:
            # the reference's own answers to the same examples, computed for this variant's pairing
            other = figure["value"]
            label += " (its answers to the same examples)"
        if other is None:
            record = results.variant(reference)
            precision = results.data.get("reference_precision") or (record.precision if record else None) or "it"
            return Problem(
                UNJUDGED,
                f"reference {reference} has no {m.name} for comparison "
                f"(add {precision} to --precisions so its suites run)",
            )
    else:
        if baseline is None:
            return Problem(NOT_APPLICABLE, "no baseline run given (option --baseline)")
        if m.suite not in QUALITY_SUITES and not allow_foreign:
            ours = results.environment.get("machine_fingerprint")
            theirs = baseline.environment.get("machine_fingerprint")
            if ours != theirs:
                return Problem(
                    FAILED,
                    f"baseline run {baseline.run_id} was measured on another machine "
                    f"({theirs} vs {ours}); performance gates refuse it "
                    f"(--allow-foreign-baseline to compare anyway)",
                )
        label = f"baseline {baseline.run_id}"
        found = _find(baseline, vid, f"{m.suite}:{m.name}")
        other = found[0].value if found else None
        if other is None:
            return Problem(UNJUDGED, f"{label} has no {m.name} for comparison")
    base_value = float(other)
    if gate.form == "offset":
        return base_value + gate.k, f" ({label} {_fmt(base_value)} {'-' if gate.k < 0 else '+'} {abs(gate.k):g})"
    return base_value * gate.k, f" ({gate.k:g} × {label} {_fmt(base_value)})"
