"""Release gates: thresholds on measured metrics, each judged per variant.

A gate is declared in ``[tool.harness.gates.judge]`` (or a TOML file given with ``--gates``) as
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
threshold is cleared with confidence. The reference and baseline sides use their point values.
"""

from __future__ import annotations

import fnmatch
import math
import re
from dataclasses import dataclass, field
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from harness.evaluation.scoring import PROPORTIONS
from harness.evaluation.scoring import TASK_METRICS as SCORING_METRICS
from harness.measure.closeness import STATISTICS
from harness.settings.config import PRECISIONS, PROVIDERS

# what the closeness suite measures against the reference (not measured for the reference itself)
CLOSENESS_METRICS = tuple(STATISTICS)
TASK_METRICS = SCORING_METRICS + ("smoke_exact_match",)
# Every measurement name a suite records, by the suite file that records it (README, "Metrics");
# a gate naming none of them is a typo, and a gate whose suite did not run is not applicable.
# tests/test_suites_e2e.py checks that real runs record nothing outside these lists.
MEASURED_BY = {
    "test_smoke.py": ("smoke_exact_match",),
    "test_quality.py": SCORING_METRICS + CLOSENESS_METRICS,
    "test_latency.py": ("tokenize_ms", "ttft_ms", "prefill_tps", "tpot_ms", "decode_tps", "e2e_ms", "itl_ms",
                        "bandwidth_efficiency"),
    "test_memory.py": ("load_footprint_bytes", "rss_bytes", "uss_bytes", "peak_rss_bytes",
                       "first_request_rss_delta_bytes", "first_generator_rss_delta_bytes",
                       "generator_rss_delta_bytes", "kv_cache_bytes", "kv_cache_share", "device_bytes"),
    "test_input_length.py": ("ttft_ms@*", "decode_tps@*", "prefill_ms_per_token", "decode_tpot_ms_per_1k_context"),
    "test_overhead.py": ("harness_decode_tps", "harness_ttft_ms", "bare_decode_tps", "bare_ttft_ms", "decode_ratio",
                         "ttft_ratio"),
    "test_soak.py": ("leak_kib_per_iter_fresh", "leak_kib_per_iter_reused", "decode_tps_trend_fresh",
                     "decode_tps_trend_reused"),
    "test_foundry.py": ("foundry_same_answer", "foundry_e2e_ms", "harness_e2e_ms",
                        *(f"foundry_{check}" for check in PROPORTIONS)),
}
KNOWN_METRICS = tuple(name for names in MEASURED_BY.values() for name in names)


def is_known_metric(pattern: str) -> bool:
    """Whether a measurement name (or a gate's glob) names at least one metric a suite records."""
    return any(fnmatch.fnmatchcase(known, pattern) or fnmatch.fnmatchcase(pattern, known) for known in KNOWN_METRICS)
from harness.common.files import read_toml
from harness.errors import HarnessError

OPERATORS = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b,
             ">": lambda a, b: a > b, "<": lambda a, b: a < b}
NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
EXPRESSION = re.compile(r"^\s*(?P<metric>[A-Za-z_][\w@.:*?\[\]-]*)\s*(?P<op>>=|<=|>|<)\s*(?P<rhs>.+?)\s*$")
RHS_FORMS = (
    (re.compile(rf"^(?P<k>{NUMBER})$"), "absolute"),
    (re.compile(rf"^(?P<base>reference|baseline)\s*(?P<sign>[-+])\s*(?P<k>{NUMBER})$"), "offset"),
    (re.compile(rf"^(?P<k>{NUMBER})\s*\*\s*(?P<base>reference|baseline)$"), "scale"),
    (re.compile(rf"^(?P<base>reference|baseline)\s*\*\s*(?P<k>{NUMBER})$"), "scale"),
    (re.compile(r"^(?P<base>reference|baseline)$"), "same"),
)
OPTIONS = ("check", "precisions", "providers", "interval", "description")
QUALITY_SUITES = ("quality", "smoke", "robustness")  # not performance: comparable across machines

# Used when a project declares no gates: what a release of a quantized variant must at least show.
# A metric a run does not measure by design is not applicable, so these apply to any model and data set.
DEFAULT_GATES = {
    "task_accuracy_kept": {"check": "all_checks >= reference - 0.05",
                           "description": "as many answers pass all their checks as the reference's, within 5 points"},
    "answer_format": {"check": "json_schema >= 0.95",
                      "description": "answers conform to the data set's JSON Schema"},
    "close_to_reference": {"check": "kld_mean <= 0.1",
                           "description": "mean KL divergence from the reference's next-token distribution"},
    "same_top_token": {"check": "top1_agreement >= 0.9",
                       "description": "the most likely next token agrees with the reference's"},
    "no_leak": {"check": "leak_kib_per_iter_* <= 64",
                "description": "RSS growth per soak iteration (Theil-Sen slope)"},
}


@dataclass(frozen=True)
class Gate:
    name: str
    metric: str
    op: str
    form: str  # absolute | offset | scale | same
    k: float
    base: str | None  # None | reference | baseline
    precisions: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    interval: bool = False
    description: str = ""
    origin: str = ""

    @property
    def check(self) -> str:
        if self.form == "absolute":
            rhs = f"{self.k:g}"
        elif self.form == "offset":
            rhs = f"{self.base} {'-' if self.k < 0 else '+'} {abs(self.k):g}"
        elif self.form == "scale":
            rhs = f"{self.k:g} * {self.base}"
        else:
            rhs = str(self.base)
        return f"{self.metric} {self.op} {rhs}"

    def applies_to(self, variant: dict) -> bool:
        return ((not self.precisions or variant.get("precision") in self.precisions)
                and (not self.providers or variant.get("provider") in self.providers))

    def to_record(self) -> dict:
        return {"name": self.name, "check": self.check, "precisions": list(self.precisions),
                "providers": list(self.providers), "interval": self.interval,
                "description": self.description}


# ---------------------------------------------------------------------------------------------
# Reading gates


def parse_gate(name: str, spec: Any, origin: str) -> Gate:
    where = f"{origin}: gate '{name}'"
    if isinstance(spec, str):
        spec = {"check": spec}
    if not isinstance(spec, dict):
        raise HarnessError(f"{where}: expected \"METRIC OP THRESHOLD\" or a table with 'check'")
    unknown = sorted(set(spec) - set(OPTIONS))
    if unknown:
        raise HarnessError(f"{where}: unknown option {', '.join(map(repr, unknown))} (known: {', '.join(OPTIONS)})")
    check = spec.get("check")
    match = EXPRESSION.match(check) if isinstance(check, str) else None
    if match is None:
        raise HarnessError(f"{where}: cannot read {check!r}; expected e.g. \"exact_match >= 0.85\"")
    metric = match["metric"].rpartition(":")[2]
    if not is_known_metric(metric):
        names = [k for k in KNOWN_METRICS if "*" not in k]
        hint = get_close_matches(metric, names, n=1)
        raise HarnessError(f"{where}: unknown metric {metric!r}" + (f" (did you mean {hint[0]!r}?" if hint else " (")
                           + "; metrics: README, Metrics)")
    rhs = match["rhs"]
    for pattern, form in RHS_FORMS:
        found = pattern.match(rhs)
        if found:
            break
    else:
        raise HarnessError(f"{where}: cannot read the threshold {rhs!r}; use a number, 'reference - 0.03', "
                           f"'0.9 * baseline' or similar")
    groups = found.groupdict()
    k = float(groups.get("k") or (1.0 if form == "same" else 0.0))
    if form == "offset" and groups["sign"] == "-":
        k = -k
    if form == "same":
        form, k = "scale", 1.0
    precisions = _names(spec.get("precisions", []), PRECISIONS, f"{where}: precisions")
    providers = _names(spec.get("providers", []), PROVIDERS, f"{where}: providers")
    interval = spec.get("interval", False)
    if not isinstance(interval, bool):
        raise HarnessError(f"{where}: 'interval' must be true or false")
    return Gate(name=name, metric=match["metric"], op=match["op"], form=form, k=k, base=groups.get("base"),
                precisions=precisions, providers=providers, interval=interval,
                description=str(spec.get("description", "")), origin=origin)


def _names(raw: Any, allowed: tuple[str, ...], where: str) -> tuple[str, ...]:
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
        raise HarnessError(f"{where}: expected a list of names")
    bad = [x for x in items if x not in allowed]
    if bad:
        raise HarnessError(f"{where}: unknown {', '.join(map(repr, bad))} (choose from {', '.join(allowed)})")
    return tuple(items)


def parse_gates(table: dict, origin: str) -> list[Gate]:
    if not isinstance(table, dict):
        raise HarnessError(f"{origin}: gates must be a table of name = \"METRIC OP THRESHOLD\"")
    return [parse_gate(name, spec, origin) for name, spec in table.items()]


def load_gates(gates_file: Path | None, tool_table: dict, tool_origin: str) -> tuple[list[Gate], str]:
    """The run's gates and where they came from: ``--gates FILE`` (its ``[gates]`` table, or its
    top level), else ``[tool.harness.gates.judge]``, else :data:`DEFAULT_GATES`."""
    if gates_file is not None:
        data = read_toml(gates_file, option="--gates")
        table = data.get("gates", data)
        return parse_gates(table, str(gates_file)), str(gates_file)
    if "gates" in tool_table:
        origin = tool_origin.replace("[tool.harness]", "[tool.harness.gates.judge]")
        return parse_gates(tool_table["gates"], origin), origin
    return parse_gates(DEFAULT_GATES, "built-in default gates"), "built-in default gates"


# ---------------------------------------------------------------------------------------------
# Judging


NOT_APPLICABLE = "not_applicable"
OUTCOMES = ("passed", "failed", NOT_APPLICABLE)  # a gate's status; "could not be judged" is failed


@dataclass
class Judgement:
    gate: str
    variant: str
    status: str  # one of OUTCOMES
    message: str
    checks: list[dict] = field(default_factory=list)  # one per matching measurement
    judged: bool = True  # False: failed because a measurement it needs is missing

    def to_record(self, gate: Gate) -> dict:
        return {"gate": self.gate, "variant": self.variant, "check": gate.check, "status": self.status,
                "passed": self.status == "passed", "judged": self.judged, "message": self.message,
                "measurements": self.checks}


def outcome_of(record: dict) -> str:
    """A recorded gate's outcome (results.json of schema 2 wrote "skipped" for not applicable)."""
    return NOT_APPLICABLE if record["status"] == "skipped" else record["status"]


def unjudged(record: dict) -> bool:
    """Whether a recorded gate failed because a measurement it needs is missing."""
    return record["status"] == "failed" and record.get("judged") is False


def strict(judgement: Judgement) -> Judgement:
    """``--strict-gates``: a gate that does not apply fails too (every listed gate must be judged)."""
    if judgement.status != NOT_APPLICABLE:
        return judgement
    return Judgement(judgement.gate, judgement.variant, "failed",
                     f"{judgement.message} (not applicable, and --strict-gates requires every gate judged)",
                     judged=False)


def _find(measurements: list[dict], variant: str, metric: str) -> list[dict]:
    suite, _, name = metric.rpartition(":")
    found = [m for m in measurements if m.get("variant") == variant and fnmatch.fnmatchcase(m["name"], name)
             and (not suite or m.get("suite") == suite)]
    by_name: dict[str, list[dict]] = {}
    for m in found:
        by_name.setdefault(m["name"], []).append(m)
    for name, records in by_name.items():
        suites = {m.get("suite") for m in records}
        if len(suites) > 1:
            raise HarnessError(f"metric {name!r} is measured by several suites ({', '.join(sorted(suites))}) "
                               f"for {variant}; write it as suite:{name}")
    return [records[-1] for records in by_name.values()]


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.4g}"


def judge(gate: Gate, variant: dict, results: dict, *, reference: str | None,
          baseline: dict | None = None, allow_foreign_baseline: bool = False,
          benchmark: bool | None = None) -> Judgement:
    """Judge one gate for one variant of ``results`` (a results.json dictionary); ``benchmark``
    says whether the performance suites ran.

    A gate that does not apply by design (the data set has no such check, the reference compared
    with itself, a performance metric without ``--benchmark``, a baseline gate without a
    baseline, a suite that did not run or was skipped) is ``not_applicable``. A gate whose
    measurement is missing for any other reason (a crashed worker, a failed suite, a suite that
    passed without recording it) *could not be judged* and fails, so a gap never passes."""
    vid = variant["id"]
    where = f"gate '{gate.name}' ({gate.check})"

    def not_applicable(message: str) -> Judgement:
        return Judgement(gate.name, vid, NOT_APPLICABLE, f"{where}: not applicable: {message}")

    def unjudged(message: str) -> Judgement:
        return Judgement(gate.name, vid, "failed", f"{where} could not be judged: {message}", judged=False)

    if gate.base == "reference" and vid == reference:
        return not_applicable(f"{vid} is the reference (compared with itself)")
    measurements = results.get("measurements", [])
    found = _find(measurements, vid, gate.metric)
    if not found:
        names = sorted({m["name"] for m in measurements if m.get("variant") == vid})
        hint = get_close_matches(gate.metric, names, n=1)
        by_design = _not_applicable_reason(gate.metric, variant, reference, results, benchmark)
        if by_design:
            return not_applicable(by_design)
        failed = sorted(t for t, outcome in (variant.get("tests") or {}).items() if outcome in ("failed", "error"))
        return unjudged(f"{gate.metric} was not measured for {vid}"
                        + (f" (failed tests of {vid}: {', '.join(failed)})" if failed else "")
                        + (f"; did you mean {hint[0]!r}?" if hint else ""))
    checks, failures = [], []
    for m in found:
        value, interval = m.get("value"), m.get("interval")
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return unjudged(f"{m['name']} of {vid} has no value")
        used, side = value, "value"
        if gate.interval and interval and None not in interval:
            used, side = (interval[0], "lower bound") if gate.op in (">=", ">") else (interval[1], "upper bound")
        threshold, explained, problem = _threshold(gate, m, vid, reference, results, baseline, allow_foreign_baseline)
        if problem is not None:
            kind, _, reason = problem.partition(":")
            if kind == "na":
                return not_applicable(reason)
            if kind == "unjudged":
                return unjudged(reason)
            failures.append(problem)
            checks.append({"name": m["name"], "value": value, "interval": interval, "passed": False,
                           "message": problem})
            continue
        passed = OPERATORS[gate.op](used, threshold)
        shown = f"{_fmt(value)}" + (f" [{_fmt(interval[0])}, {_fmt(interval[1])}]" if interval and None not in interval else "")
        judged = f"; {side} {_fmt(used)}" if side != "value" else ""
        text = (f"{vid} {m['name']} = {shown}{judged} {'is' if passed else 'is not'} {gate.op} "
                f"{_fmt(threshold)}{explained}")
        checks.append({"name": m["name"], "value": value, "interval": interval, "used": used,
                       "threshold": threshold, "passed": passed, "message": text})
        if not passed:
            failures.append(text)
    if failures:
        return Judgement(gate.name, vid, "failed", f"{where}: " + "; ".join(failures), checks)
    return Judgement(gate.name, vid, "passed", f"gate '{gate.name}': " + "; ".join(c["message"] for c in checks), checks)


def _not_applicable_reason(metric: str, variant: dict, reference: str | None, results: dict,
                           benchmark: bool | None) -> str:
    """Why a metric that was not measured does not apply to this run by design ('' if it should
    have been measured)."""
    pattern = metric.rpartition(":")[2]
    vid = variant["id"]

    def matches(names) -> bool:
        return any(fnmatch.fnmatchcase(n, pattern) for n in names)

    if matches(CLOSENESS_METRICS) and vid == reference:
        return "the reference is not compared with itself"
    if benchmark is False and not matches(CLOSENESS_METRICS + TASK_METRICS):
        return "performance suites run only with --benchmark"
    datasets = results.get("datasets") or []
    carried = datasets[0].get("checks") if datasets else None
    if carried is not None and matches(TASK_METRICS):
        wanted = [n for n in TASK_METRICS if fnmatch.fnmatchcase(n, pattern)]
        needs = {n: ("reference" if n == "smoke_exact_match" else n) for n in wanted}
        if not any(carried.get(need, 0) for need in needs.values()):
            return f"the evaluation set {datasets[0].get('name')} has no record with {' or '.join(sorted(set(needs.values())))}"
    files = [f for f, names in MEASURED_BY.items() if matches(names)]
    ran = {test: outcome for test, outcome in (variant.get("tests") or {}).items() if test.split("::")[0] in files}
    if not ran:
        return f"its suite ({', '.join(files)}) did not run for {vid} in this run"
    if all(outcome == "skipped" for outcome in ran.values()):
        return f"its suite's tests were skipped for {vid} ({', '.join(sorted(ran))})"
    return ""


def _threshold(gate: Gate, m: dict, vid: str, reference: str | None, results: dict, baseline: dict | None,
               allow_foreign: bool) -> tuple[float, str, str | None]:
    """(threshold, how it was reached, problem) where problem is None, 'na:<reason>' (not
    applicable), 'unjudged:<reason>' (a figure is missing) or a failure."""
    if gate.base is None:
        return gate.k, "", None
    if gate.base == "reference":
        if reference is None:
            return math.nan, "", f"unjudged:no runnable reference variant for {vid}"
        label = f"reference {reference}"
        other = _find(results.get("measurements", []), reference, f"{m['suite']}:{m['name']}")
        figure = m.get("reference_figure") or {}
        if not other and figure.get("variant") == reference and figure.get("value") is not None:
            # the reference's own answers to the same examples, computed for this variant's pairing
            other = [{"value": figure["value"]}]
            label += " (its answers to the same examples)"
        if not other or other[0].get("value") is None:
            return math.nan, "", (f"unjudged:reference {reference} has no {m['name']} for comparison "
                                  f"(add {reference.split('-')[0]} to --precisions so its suites run)")
    else:
        if baseline is None:
            return math.nan, "", "na:no baseline run given (option --baseline)"
        if m.get("suite") not in QUALITY_SUITES and not allow_foreign:
            ours = results.get("environment", {}).get("machine_fingerprint")
            theirs = baseline.get("environment", {}).get("machine_fingerprint")
            if ours != theirs:
                return math.nan, "", (f"baseline run {baseline['run']['id']} was measured on another machine "
                                      f"({theirs} vs {ours}); performance gates refuse it "
                                      f"(--allow-foreign-baseline to compare anyway)")
        label = f"baseline {baseline['run']['id']}"
        other = _find(baseline.get("measurements", []), vid, f"{m['suite']}:{m['name']}")
        if not other or other[0].get("value") is None:
            return math.nan, "", f"unjudged:{label} has no {m['name']} for comparison"
    base_value = float(other[0]["value"])
    if gate.form == "offset":
        return base_value + gate.k, f" ({label} {_fmt(base_value)} {'-' if gate.k < 0 else '+'} {abs(gate.k):g})", None
    return base_value * gate.k, f" ({gate.k:g} × {label} {_fmt(base_value)})", None
