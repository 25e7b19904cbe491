"""The report's sections in their order, and those about the run as a whole: its summary, the
recommendation, the precision table, the variants, gates, verdicts and every measurement. The
figures' sections are in :mod:`harness.report.performance`, :mod:`harness.report.quality` and
:mod:`harness.report.search`."""

from __future__ import annotations

from pathlib import Path

from harness.common.formatting import fmt
from harness.measure.records import Verdict
from harness.report.performance import performance, runtimes
from harness.report.quality import quality
from harness.report.search import search_section
from harness.report.section import Section
from harness.report.tables import precision_rows_text
from harness.report.timing import timing
from harness.results.precision import precision_table
from harness.results.view import NOT_APPLICABLE, RunResults, as_results
from harness.ship.recommend import OBJECTIVES, recommend

MB = 1e6


def objective_of(results: RunResults) -> str:
    value = as_results(results).setting("objective")
    return value if value in OBJECTIVES else "size"


# ---------------------------------------------------------------------------------------------
# Sections


def build_sections(results: RunResults | dict, objective: str | None = None) -> list[Section]:
    results = as_results(results)
    objective = objective or objective_of(results)
    sections = [_summary(results), _recommendation(results, objective), _precision(results), _variants(results)]
    search = search_section(results)
    sections += [
        performance(results),
        runtimes(results),
        Section("Mixed-precision search", "search", **search) if search else None,
        *quality(results),
        _gates(results),
        timing(results),
        _verdicts(results),
        _measurements(results),
    ]
    return [s for s in sections if s is not None]


def _summary(results: RunResults) -> Section:
    run, env, model = results.run, results.environment, results.model
    state = "complete" if run.get("complete") else "INCOMPLETE (interrupted or still running)"
    packages = env.get("packages", {})
    sets = results.datasets
    lines = [
        f"**Status**: {state}; started {run.get('started_at')}, ended {run.get('ended_at') or '—'}",
        f"**Model**: {model.get('name', '—')} ({model.get('architecture', '?')}, "
        f"{model.get('num_attention_heads', '?')} heads / {model.get('num_key_value_heads', '?')} KV heads), "
        f"hash `{str(model.get('content_hash', ''))[:12]}`"
        + (
            f", converted from `{Path(model['gguf_file']).name}` (sha256 `{model['gguf_sha256'][:12]}`)"
            if model.get("gguf_file")
            else ""
        ),
        f"**Machine**: {env.get('cpu_model')}, {env.get('cores_usable')} cores, "
        f"{(env.get('memory_total_bytes') or 0) / 2**30:.1f} GiB, {env.get('os')}",
        f"**Toolchain**: onnxruntime-genai {packages.get('onnxruntime-genai')}, onnxruntime "
        f"{packages.get('onnxruntime')}" + (f", olive-ai {packages['olive-ai']}" if packages.get("olive-ai") else ""),
        f"**Profile**: {results.setting('profile') or '—'}",
    ]
    if sets:
        lines.append(
            f"**Evaluation set**: `{sets[0].get('name')}` ({sets[0].get('used')} of {sets[0].get('records')} "
            f"records, sha256 `{str(sets[0].get('sha256', ''))[:12]}`)"
        )
    machines = results.data.get("machines") or []
    if machines:
        lines.append(
            "**Machines** (merged runs): "
            + "; ".join(f"`{m['label']}` = {m['cpu_model']}, {m['cores']} cores (run {m['run']})" for m in machines)
        )
    return Section(f"Run {results.run_id}", "summary", text=lines)


def _recommendation(results: RunResults, objective: str) -> Section:
    entries = recommend(results, objective)
    return Section(
        "Recommendation",
        "recommendation",
        text=[e["text"] for e in entries]
        + [
            f"Objective: **{objective}** (`--objective`: size, speed or memory). Eligible: the variant "
            f"passed every test and failed no gate."
        ],
    )


CPU_FP16_NOTE = (
    "**FP16 on a CPU**: most x86 CPUs have no float16 arithmetic, so onnxruntime converts to float32 "
    "as it computes; an FP16 variant's speed and memory here are this CPU's, not FP16's on a GPU. Its "
    "size and its quality against the reference carry over to GPUs; its speed does not."
)


def _cpu_fp16_note(results: RunResults) -> list[str]:
    """The note every table with a measured CPU FP16 variant carries."""
    return (
        [CPU_FP16_NOTE]
        if any(v.precision == "fp16" and v.provider == "cpu" and v.status != "unsupported" for v in results.variants)
        else []
    )


def _precision(results: RunResults) -> Section:
    header, rows = precision_rows_text(precision_table(results), results.references())
    return Section(
        "Precision trade-off (the tutorial's table, measured)",
        "precision-table",
        text=[
            "Size on disk and decode speed also as a multiple of FP32 on the same provider (the tutorial "
            "claims ×0.5 for FP16, ×0.25 for INT8, ×0.125 for INT4). Timings: median [95 %, order statistics]; "
            "accuracy: share [Wilson 95 %]; KLD and top-1 agreement against the reference: value ± one "
            "standard error; gates: passed ✓, failed ✗."
        ]
        + _cpu_fp16_note(results),
        header=header,
        rows=rows,
    )


def _variants(results: RunResults) -> Section:
    fp32 = {v.provider: v.size_bytes for v in results.variants if v.precision == "fp32"}
    rows = []
    for v in results.variants:
        size, base = v.size_bytes, fp32.get(v.provider)
        q = v.record.get("quantization") or {}
        quant = "—"
        if q:
            quant = (
                f"{q.get('matmul_nbits')}× MatMulNBits {','.join(map(str, q.get('bits', [])))}-bit "
                f"block {','.join(map(str, q.get('block_sizes', [])))}"
                if q.get("matmul_nbits")
                else f"float ({', '.join(q.get('weight_dtypes', {}))})"
            )
        note = v.reason or v.record.get("error") or ""
        note = note.splitlines()[0] if note else ""
        if v.record.get("correction"):  # what the harness changed in the builder's output, said out loud
            note = "; ".join(filter(None, [note, v.record["correction"]["statement"]]))
        rows.append(
            [
                f"`{v.id}`",
                v.status,
                fmt(size / MB) + " MB" if size else "—",
                f"{size / base:.3f}" if size and base else "—",
                fmt(v.record.get("build_seconds")),
                quant,
                fmt(v.load_s),
                note,
            ]
        )
    return Section(
        "Variants",
        "variants",
        text=_cpu_fp16_note(results),
        header=["variant", "status", "size on disk", "× fp32", "build s", "quantization", "load s", "note"],
        rows=rows,
    )


GATE_CELLS = {"passed": "pass", "failed": "**FAIL**", "unjudged": "**FAIL** (not judged)", NOT_APPLICABLE: "n/a"}


def _gates(results: RunResults) -> Section | None:
    """Each gate's outcome per variant (one row a gate, one column a variant), then the detail of
    every gate that did not pass."""
    gates = results.gates_origin
    judged = results.gate_results
    if not judged:
        return None
    variants = list(dict.fromkeys(g.variant for g in judged))
    cell = {(g.gate, g.variant): GATE_CELLS["unjudged" if g.unjudged else g.outcome] for g in judged}
    names = list(dict.fromkeys(g.gate for g in judged))
    checks = {g.gate: g.check for g in judged}
    details = [f"`{g.variant}`: {g.message}" for g in judged if g.status != "passed"]
    return Section(
        "Gates",
        "gates",
        text=[
            f"From {gates.get('origin')}"
            + (f"; baseline run `{gates['baseline']}`" if gates.get("baseline") else "")
            + ". pass; **FAIL**; **FAIL** (not judged): a measurement the gate needs is missing, so it fails; "
            "n/a: the gate does not apply to this run by design (with --strict-gates it fails).",
            *details,
        ],
        header=["gate", "check", *[f"`{v}`" for v in variants]],
        rows=[[name, f"`{checks[name]}`", *[cell.get((name, v), "—") for v in variants]] for name in names],
    )


def _verdicts(results: RunResults) -> Section | None:
    if not results.verdicts:
        return None
    return Section(
        "Verdicts",
        "verdicts",
        header=["variant", "suite", "verdict", "result", "detail"],
        rows=[[f"`{v.variant}`", v.suite, v.name, _verdict_cell(v), v.message] for v in results.verdicts],
        collapsed=True,
    )


def _verdict_cell(verdict: Verdict) -> str:
    """pass, **FAIL**, or **FAIL** (unresolved) for a verdict whose interval could not decide."""
    if verdict.passed:
        return "pass"
    return "**FAIL** (unresolved)" if verdict.extra.get("outcome") == "unresolved" else "**FAIL**"


def _measurements(results: RunResults) -> Section | None:
    if not results.measurements:
        return None
    rows = []
    for m in results.measurements:
        interval = m.interval
        rows.append(
            [
                f"`{m.variant}`",
                m.suite,
                m.name,
                fmt(m.value),
                f"[{fmt(interval[0])}, {fmt(interval[1])}]" if interval and None not in interval else "—",
                str(m.stats.get("n", "—")),
                m.unit,
            ]
        )
    return Section(
        "Measurements",
        "measurements",
        text=[
            "Timings: the median with its 95 % interval from order statistics over the measured repetitions "
            "(warm-ups excluded). Shares (unit `fraction`): successes / n with the Wilson 95 % interval. Every "
            "figure is also in `results.csv`."
        ],
        header=["variant", "suite", "metric", "value", "95 % interval", "n", "unit"],
        rows=rows,
        collapsed=True,
    )
