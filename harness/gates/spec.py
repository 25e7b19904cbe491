"""Gate definitions: the expression grammar, the options, the built-in defaults, and reading them from TOML."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.common.files import read_toml
from harness.errors import HarnessError
from harness.evaluation.scoring import TASK_METRICS as SCORING_METRICS
from harness.measure.closeness import STATISTICS
from harness.measure.metrics import METRICS, is_known_metric, names_of, unknown_metric
from harness.settings.config import PRECISIONS, PROVIDERS

# what the closeness suite measures against the reference (not measured for the reference itself)
CLOSENESS_METRICS = tuple(STATISTICS)
TASK_METRICS = SCORING_METRICS + ("smoke_exact_match",)
# Every measurement name a suite records, by the suite file that records it (harness.measure.metrics);
# a gate naming none of them is a typo, and a gate whose suite did not run is not applicable.
MEASURED_BY = {f"test_{suite}.py": names_of(suite) for suite in dict.fromkeys(m.suite for m in METRICS)}

OPERATORS = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, "<": lambda a, b: a < b}
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
STRICT, LENIENT = "strict", "lenient"  # interval = true: the interval must clear the threshold; "lenient": must miss it
INTERVALS = {False: None, True: STRICT, LENIENT: LENIENT}  # as written in a gate -> as held
RECORDED = {None: False, STRICT: True, LENIENT: LENIENT}  # as held -> as results.json records it

# Used when a project declares no gates: what a release of a quantized variant must at least show.
# A metric a run does not measure by design is not applicable, so these apply to any model and data set.
DEFAULT_GATES = {
    "task_accuracy_kept": {
        "check": "all_checks >= reference - 0.05",
        "description": "as many answers pass all their checks as the reference's, within 5 points",
    },
    "answer_format": {"check": "json_schema >= 0.95", "description": "answers conform to the data set's JSON Schema"},
    "close_to_reference": {
        "check": "kld_mean <= 0.1",
        "description": "mean KL divergence from the reference's next-token distribution",
    },
    "same_top_token": {
        "check": "top1_agreement >= 0.9",
        "description": "the most likely next token agrees with the reference's",
    },
    "no_leak": {
        "check": "leak_kib_per_iter_* <= 16",
        "interval": LENIENT,
        "description": "RSS growth per soak iteration (Theil-Sen slope): a leak once its 95 % interval lies "
        "above the threshold",
    },
}
# The thresholds the suites' own verdicts use where the run's gates set none: the default gates', and
# that of a gate a project may declare but that holds no release back by default (how much slower a
# variant decodes at its longest prompts depends on the machine and the context: reported, not gated).
VERDICT_DEFAULTS = {
    **DEFAULT_GATES,
    "steady_decode_across_lengths": {
        "check": "decode_tps_longest_vs_shortest >= 0.5",
        "description": "decode tokens/s at the length sweep's longest prompt, as a share of the shortest's",
    },
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
    interval: str | None = None  # None: the value; STRICT or LENIENT: a side of its 95 % interval
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

    def decide(self, value: float, interval: list | None, threshold: float) -> tuple[bool, float, str]:
        """(passed, the figure compared, which it is: value, lower bound or upper bound): the value,
        or with ``interval`` the side of its 95 % interval that must clear the threshold (strict) or
        that must miss it (lenient)."""
        used, side = value, "value"
        if self.interval and interval and None not in interval:
            lower = (self.op in (">=", ">")) == (self.interval == STRICT)
            used, side = (interval[0], "lower bound") if lower else (interval[1], "upper bound")
        return OPERATORS[self.op](used, threshold), used, side

    def applies_to(self, variant: dict) -> bool:
        return (not self.precisions or variant.get("precision") in self.precisions) and (
            not self.providers or variant.get("provider") in self.providers
        )

    def to_record(self) -> dict:
        return {
            "name": self.name,
            "check": self.check,
            "precisions": list(self.precisions),
            "providers": list(self.providers),
            "interval": RECORDED[self.interval],
            "description": self.description,
        }


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
        raise HarnessError(f'{where}: cannot read {check!r}; expected e.g. "exact_match >= 0.85"')
    metric = match["metric"].rpartition(":")[2]
    if not is_known_metric(metric):
        raise HarnessError(f"{where}: {unknown_metric(metric)}")
    rhs = match["rhs"]
    matched = [(found, form) for pattern, form in RHS_FORMS if (found := pattern.match(rhs))]
    if not matched:
        raise HarnessError(
            f"{where}: cannot read the threshold {rhs!r}; use a number, 'reference - 0.03', '0.9 * baseline' or similar"
        )
    found, form = matched[0]
    groups = found.groupdict()
    k = float(groups.get("k") or (1.0 if form == "same" else 0.0))
    if form == "offset" and groups["sign"] == "-":
        k = -k
    if form == "same":
        form, k = "scale", 1.0
    precisions = _names(spec.get("precisions", []), PRECISIONS, f"{where}: precisions")
    providers = _names(spec.get("providers", []), PROVIDERS, f"{where}: providers")
    given = spec.get("interval", False)
    interval = INTERVALS.get(given, "bad") if isinstance(given, (bool, str)) else "bad"
    if interval == "bad":
        raise HarnessError(f"{where}: 'interval' must be true, false or \"lenient\"")
    return Gate(
        name=name,
        metric=match["metric"],
        op=match["op"],
        form=form,
        k=k,
        base=groups.get("base"),
        precisions=precisions,
        providers=providers,
        interval=interval,
        description=str(spec.get("description", "")),
        origin=origin,
    )


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
        raise HarnessError(f'{origin}: gates must be a table of name = "METRIC OP THRESHOLD"')
    return [parse_gate(name, spec, origin) for name, spec in table.items()]


def load_gates(
    gates_file: Path | None, tool_table: dict, tool_origin: str, thresholds: dict[str, float] | None = None
) -> tuple[list[Gate], str]:
    """The run's gates and where they came from: ``--gates-file FILE`` (its ``[gates]`` table, or its
    top level), else ``[tool.harness.gates]``, else :data:`DEFAULT_GATES`; ``thresholds`` (gate
    name -> threshold, from the retired threshold settings) replace those gates' thresholds."""
    if gates_file is not None:
        data = read_toml(gates_file, what="gates file", option="--gates-file")
        gates, origin = parse_gates(data.get("gates", data), str(gates_file)), str(gates_file)
    elif "gates" in tool_table:
        origin = tool_origin.replace("[tool.harness]", "[tool.harness.gates]")
        gates = parse_gates(tool_table["gates"], origin)
    else:
        gates, origin = parse_gates(DEFAULT_GATES, "built-in default gates"), "built-in default gates"
    return [replace(g, k=(thresholds or {}).get(g.name, g.k)) for g in gates], origin


def threshold_gate(gates: list[Gate], name: str, overrides: dict[str, float] | None = None) -> Gate:
    """The gate whose threshold a suite's own verdict on measurement ``name`` uses: the run's first
    absolute gate on it, else the built-in one of :data:`VERDICT_DEFAULTS`; ``overrides`` (gate
    name -> threshold) come from the retired threshold settings (harness.settings.former.RETIRED)."""
    builtin = parse_gates(VERDICT_DEFAULTS, "built-in thresholds")
    for gate in [*gates, *builtin]:
        if gate.form == "absolute" and fnmatch.fnmatchcase(name, gate.metric.rpartition(":")[2]):
            k = (overrides or {}).get(gate.name, gate.k)
            return replace(gate, k=k)
    raise KeyError(f"no gate, not even a built-in one, sets a threshold on {name}")
