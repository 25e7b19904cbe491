"""The typed read model of a run: one :class:`RunResults` made from a ``results.json`` (read and
checked against its JSON Schema by :func:`read`), which gates, the report, the recommendation,
``compare`` and ``merge`` read instead of walking its dictionaries.

Measurements and verdicts are the records the suites made (:mod:`harness.measure.records`),
rebuilt from their dictionaries; variants and gate outcomes are :class:`VariantRecord` and
:class:`GateResult`. Fields a record adds beyond these (a measurement's ``x``, a variant's
``quantization``) stay in its ``extra`` or ``record``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.measure.records import Measurement, Verdict
from harness.results.schema import problems
from harness.results.store import SCHEMA_VERSION, load_results

NOT_APPLICABLE = "not_applicable"
OUTCOMES = ("passed", "failed", NOT_APPLICABLE)  # a gate's status; "could not be judged" is failed


@dataclass(frozen=True)
class VariantRecord:
    """One planned variant as results.json holds it: what it is, what became of it, and the rest
    of its record (build, quantization, toolchain, ...) in ``record``."""

    id: str
    precision: str | None
    provider: str | None
    builder: str | None
    status: str
    reason: str
    tests: Mapping[str, str]
    machine: str | None  # the machine label in a merged run
    size_bytes: int | None
    load_s: float | None
    twin: str | None  # the same build under the main runtime (a --runtimes variant)
    runtime: Mapping | None
    record: Mapping[str, Any]

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> VariantRecord:
        return cls(
            record["id"],
            record.get("precision"),
            record.get("provider"),
            record.get("builder"),
            record.get("status") or "pending",
            record.get("reason") or "",
            record.get("tests") or {},
            record.get("machine"),
            record.get("size_bytes"),
            record.get("load_s"),
            record.get("twin"),
            record.get("runtime"),
            record,
        )

    def failed_tests(self) -> list[str]:
        return sorted(t for t, outcome in self.tests.items() if outcome in ("failed", "error"))


@dataclass(frozen=True)
class GateResult:
    """One gate judged for one variant, as recorded."""

    gate: str
    variant: str
    check: str
    status: str  # one of OUTCOMES ("skipped" in files of schema 2 for not applicable)
    message: str
    judged: bool  # False: failed because a measurement it needs is missing
    unmeasured: str | None  # "benchmark" or "suite": not applicable only because this run did not measure it
    record: Mapping[str, Any]

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> GateResult:
        return cls(
            record["gate"],
            record["variant"],
            record.get("check", ""),
            record["status"],
            record.get("message", ""),
            record.get("judged") is not False,
            record.get("unmeasured"),
            record,
        )

    @property
    def outcome(self) -> str:
        return NOT_APPLICABLE if self.status == "skipped" else self.status

    @property
    def unjudged(self) -> bool:
        """Whether it failed because a measurement it needs is missing."""
        return self.status == "failed" and not self.judged


@dataclass(frozen=True)
class RunResults:
    """A run's results, typed. ``data`` is the file as read, for the parts shown as they are
    (environment, model, data sets, answers)."""

    data: Mapping[str, Any]
    variants: tuple[VariantRecord, ...]
    measurements: tuple[Measurement, ...]
    verdicts: tuple[Verdict, ...]
    gate_results: tuple[GateResult, ...]
    gate_definitions: tuple[Mapping[str, Any], ...] = field(default=())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunResults:
        gates = data.get("gates") or {}
        return cls(
            data,
            tuple(VariantRecord.from_dict(v) for v in data.get("variants", [])),
            tuple(Measurement.from_dict(m) for m in data.get("measurements", [])),
            tuple(Verdict.from_dict(v) for v in data.get("verdicts", [])),
            tuple(GateResult.from_dict(g) for g in gates.get("results") or []),
            tuple(gates.get("definitions") or []),
        )

    # -- the run ---------------------------------------------------------------------------------
    @property
    def run(self) -> Mapping[str, Any]:
        return self.data.get("run") or {}

    @property
    def run_id(self) -> str:
        return self.run.get("id", "")

    @property
    def environment(self) -> Mapping[str, Any]:
        return self.data.get("environment") or {}

    @property
    def model(self) -> Mapping[str, Any]:
        return self.data.get("model") or {}

    @property
    def datasets(self) -> list[Mapping[str, Any]]:
        return self.data.get("datasets") or []

    @property
    def answers(self) -> list[Mapping[str, Any]]:
        return self.data.get("answers") or []

    @property
    def gates_origin(self) -> Mapping[str, Any]:
        """``origin`` and ``baseline`` of the run's gates."""
        return self.data.get("gates") or {}

    def setting(self, name: str) -> Any:
        return ((self.run.get("settings") or {}).get(name) or {}).get("value")

    # -- variants ------------------------------------------------------------------------------
    @cached_property
    def _variants(self) -> dict[str, VariantRecord]:
        return {v.id: v for v in self.variants}

    def variant(self, variant_id: str) -> VariantRecord | None:
        return self._variants.get(variant_id)

    def fp32_twin(self, variant: VariantRecord) -> VariantRecord | None:
        """The FP32 variant on the same provider and machine (the tutorial's "× base")."""
        return next(
            (
                v
                for v in self.variants
                if v.precision == "fp32" and v.provider == variant.provider and v.machine == variant.machine
            ),
            None,
        )

    # -- measurements ----------------------------------------------------------------------------
    @cached_property
    def _last(self) -> dict[tuple[str, str], Measurement]:
        return {(m.variant, m.name): m for m in self.measurements}

    def find(self, variant: str, name: str) -> Measurement | None:
        """The last measurement ``name`` of ``variant`` (names are unique per variant within a run)."""
        return self._last.get((variant, name))

    def value(self, variant: str, name: str) -> float | None:
        found = self.find(variant, name)
        return found.value if found else None

    def of(self, variant: str | None = None, name: str | None = None, suite: str | None = None) -> list[Measurement]:
        """The measurements of ``variant`` whose name matches the glob ``name`` and of ``suite``
        (None: any)."""
        return [
            m
            for m in self.measurements
            if (variant is None or m.variant == variant)
            and (name is None or fnmatch.fnmatchcase(m.name, name))
            and (suite is None or m.suite == suite)
        ]

    def references(self) -> set[str]:
        """The variants the closeness suite compared others with."""
        return {m.extra["reference"] for m in self.measurements if m.name == "kld_mean" and m.extra.get("reference")}

    # -- gates -----------------------------------------------------------------------------------
    def gates_of(self, variant: str) -> list[GateResult]:
        return [g for g in self.gate_results if g.variant == variant]

    def gate_counts(self, variant: str) -> dict[str, int]:
        judged = self.gates_of(variant)
        return {status: sum(1 for g in judged if g.outcome == status) for status in OUTCOMES}

    def not_judged(self, variant: VariantRecord) -> list[str]:
        """The gates of the run that apply to ``variant`` and were not judged for it: no recorded
        judgement (the gate tests deselected with ``-k``, the run stopped before them), or not
        applicable only because the suite that measures it was deselected or skipped. A
        recommendation needs every applicable gate judged. A definition that names a ``machine``
        (a merged run) applies to that machine's variants only."""
        judged = {g.gate for g in self.gates_of(variant.id) if g.unmeasured != "suite"}
        return [
            d["name"]
            for d in self.gate_definitions
            if d["name"] not in judged
            and (not d.get("precisions") or variant.precision in d["precisions"])
            and (not d.get("providers") or variant.provider in d["providers"])
            and d.get("machine", variant.machine) == variant.machine
        ]

    def without_benchmark(self, variant: str) -> list[str]:
        """The gates not applicable to a variant only because the run had no --benchmark."""
        return [g.gate for g in self.gates_of(variant) if g.unmeasured == "benchmark"]


def as_results(results: RunResults | Mapping[str, Any]) -> RunResults:
    """``results`` typed: a results.json dictionary (a run in progress, a test's) is read as is."""
    return results if isinstance(results, RunResults) else RunResults.from_dict(results)


def read(path: Path) -> RunResults:
    """A results.json (or a run folder) read, its schema version checked, and a file of the
    current version checked against the JSON Schema."""
    data = load_results(path)
    found = problems(data, limit=3) if data.get("schema_version") == SCHEMA_VERSION else []
    if found:
        where = path / "results.json" if path.is_dir() else path
        raise HarnessError(f"{where} does not match the results schema: {'; '.join(found)}")
    return RunResults.from_dict(data)
