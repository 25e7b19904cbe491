"""The report's sections, each built from results.json as a title, paragraphs and a table;
the renderers lay them out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.common.formatting import fmt, with_interval
from harness.evaluation.scoring import TASK_METRICS
from harness.gates.judge import NOT_APPLICABLE, outcome_of, unjudged
from harness.measure.metrics import METRICS
from harness.report.search import search_section
from harness.report.tables import precision_rows_text
from harness.results.precision import precision_table, references_of
from harness.ship.recommend import OBJECTIVES, recommend

MB = 1e6
CLOSENESS_COLUMNS = (("KLD mean", "kld_mean"), ("KLD p99", "kld_mean:p99"), ("KLD max", "kld_mean:max"),
                     ("top-1 agreement", "top1_agreement"), ("Δp RMS", "delta_p_rms"),
                     ("PPL ratio", "ppl_ratio"))
# (column title, measurement name, scale): the performance figures per variant, as the registry defines them
PERFORMANCE_COLUMNS = tuple((m.column, m.name, m.scale) for m in METRICS if m.column)


@dataclass
class Section:
    title: str
    anchor: str
    text: list[str] = field(default_factory=list)  # paragraphs (with **bold** and `code`)
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    collapsed: bool = False  # long detail: folded in the HTML report


def objective_of(results: dict) -> str:
    value = (results.get("run", {}).get("settings", {}).get("objective") or {}).get("value")
    return value if value in OBJECTIVES else "size"


# ---------------------------------------------------------------------------------------------
# Sections


def build_sections(results: dict, objective: str | None = None) -> list[Section]:
    objective = objective or objective_of(results)
    sections = [_summary(results), _recommendation(results, objective), _precision(results), _variants(results)]
    search = search_section(results)
    sections += [_performance(results), _runtimes(results),
                 Section("Mixed-precision search", "search", **search) if search else None, *_quality(results),
                 _gates(results), _verdicts(results), _measurements(results)]
    return [s for s in sections if s is not None]


def _summary(results: dict) -> Section:
    run, env, model = results["run"], results.get("environment", {}), results.get("model") or {}
    state = "complete" if run.get("complete") else "INCOMPLETE (interrupted or still running)"
    packages = env.get("packages", {})
    sets = results.get("datasets") or []
    lines = [
        f"**Status**: {state}; started {run.get('started_at')}, ended {run.get('ended_at') or '—'}",
        f"**Model**: {model.get('name', '—')} ({model.get('architecture', '?')}, "
        f"{model.get('num_attention_heads', '?')} heads / {model.get('num_key_value_heads', '?')} KV heads), "
        f"hash `{str(model.get('content_hash', ''))[:12]}`"
        + (f", converted from `{Path(model['gguf_file']).name}` (sha256 `{model['gguf_sha256'][:12]}`)"
           if model.get("gguf_file") else ""),
        f"**Machine**: {env.get('cpu_model')}, {env.get('cores_usable')} cores, "
        f"{(env.get('memory_total_bytes') or 0) / 2**30:.1f} GiB, {env.get('os')}",
        f"**Toolchain**: onnxruntime-genai {packages.get('onnxruntime-genai')}, onnxruntime "
        f"{packages.get('onnxruntime')}" + (f", olive-ai {packages['olive-ai']}" if packages.get("olive-ai") else ""),
        f"**Profile**: {run.get('settings', {}).get('profile', {}).get('value', '—')}",
    ]
    if sets:
        lines.append(f"**Evaluation set**: `{sets[0].get('name')}` ({sets[0].get('used')} of {sets[0].get('records')} "
                     f"records, sha256 `{str(sets[0].get('sha256', ''))[:12]}`)")
    if results.get("machines"):
        lines.append("**Machines** (merged runs): " + "; ".join(
            f"`{m['label']}` = {m['cpu_model']}, {m['cores']} cores (run {m['run']})" for m in results["machines"]))
    return Section(f"Run {run['id']}", "summary", text=lines)


def _recommendation(results: dict, objective: str) -> Section:
    entries = recommend(results, objective)
    return Section("Recommendation", "recommendation",
                   text=[e["text"] for e in entries]
                   + [f"Objective: **{objective}** (`--objective`: size, speed or memory). Eligible: the variant "
                      f"passed every test and failed no gate."])


CPU_FP16_NOTE = (
    "**FP16 on a CPU**: most x86 CPUs have no float16 arithmetic, so onnxruntime converts to float32 "
    "as it computes; an FP16 variant's speed and memory here are this CPU's, not FP16's on a GPU. Its "
    "size and its quality against the reference carry over to GPUs; its speed does not.")


def _cpu_fp16_note(results: dict) -> list[str]:
    """The note every table with a measured CPU FP16 variant carries."""
    return [CPU_FP16_NOTE] if any(v.get("precision") == "fp16" and v.get("provider") == "cpu"
                                  and v.get("status") != "unsupported" for v in results["variants"]) else []


def _precision(results: dict) -> Section:
    header, rows = precision_rows_text(precision_table(results), references_of(results))
    return Section("Precision trade-off (the tutorial's table, measured)", "precision-table", text=[
        "Size on disk and decode speed also as a multiple of FP32 on the same provider (the tutorial "
        "claims ×0.5 for FP16, ×0.25 for INT8, ×0.125 for INT4). Timings: median [bootstrap 95 %]; "
        "accuracy: share [Wilson 95 %]; KLD and top-1 agreement against the reference: value ± one "
        "standard error; gates: passed ✓, failed ✗."] + _cpu_fp16_note(results), header=header, rows=rows)


def _variants(results: dict) -> Section:
    variants = results["variants"]
    fp32 = {v["provider"]: v.get("size_bytes") for v in variants if v.get("precision") == "fp32"}
    rows = []
    for v in variants:
        size = v.get("size_bytes")
        base = fp32.get(v.get("provider"))
        q = v.get("quantization") or {}
        quant = "—"
        if q:
            quant = (f"{q.get('matmul_nbits')}× MatMulNBits {','.join(map(str, q.get('bits', [])))}-bit "
                     f"block {','.join(map(str, q.get('block_sizes', [])))}" if q.get("matmul_nbits")
                     else f"float ({', '.join(q.get('weight_dtypes', {}))})")
        note = v.get("reason") or v.get("error") or ""
        note = note.splitlines()[0] if note else ""
        if v.get("correction"):  # what the harness changed in the builder's output, said out loud
            note = "; ".join(filter(None, [note, v["correction"]["statement"]]))
        rows.append([f"`{v['id']}`", str(v.get("status")), fmt(size / MB) + " MB" if size else "—",
                     f"{size / base:.3f}" if size and base else "—", fmt(v.get("build_seconds")), quant,
                     fmt(v.get("load_s")), note])
    return Section("Variants", "variants", text=_cpu_fp16_note(results),
                   header=["variant", "status", "size on disk", "× fp32", "build s", "quantization", "load s", "note"],
                   rows=rows)


def _performance(results: dict) -> Section | None:
    by_key = {(m["variant"], m["name"]): m for m in results.get("measurements", [])}
    variants = [v["id"] for v in results["variants"] if any((v["id"], c[1]) in by_key for c in PERFORMANCE_COLUMNS)]
    if not variants:
        return None
    columns = [c for c in PERFORMANCE_COLUMNS if any((v, c[1]) in by_key for v in variants)]
    rows = []
    for vid in variants:
        cells = [f"`{vid}`"]
        for _, name, scale in columns:
            m = by_key.get((vid, name))
            if m is None or m.get("value") is None:
                cells.append("—")
                continue
            interval = m.get("interval")
            scaled = [x * scale for x in interval] if interval and None not in interval else None
            cells.append(with_interval(m["value"] * scale, scaled))
        rows.append(cells)
    return Section("Performance per variant", "performance", text=[
        "Median [95 % interval] (fits: slope [95 % interval]); warm-ups excluded. Definitions: "
        "docs/reference/metrics.md."],
        header=["variant"] + [c[0] for c in columns], rows=rows)


def _runtimes(results: dict) -> Section | None:
    from harness.results.runtimes import comparisons

    found = comparisons(results)
    if not found:
        return None

    def version(runtime: dict | None) -> str:
        return f"onnxruntime-genai {runtime['onnxruntime-genai']}" if runtime else "its runtime"

    text = ["Does the runtime upgrade change our model's speed or answers? Each variant measured under "
            "another onnxruntime-genai release against the same build under the main environment's runtime, "
            "in this run: speed figures tested as `python -m harness compare` does (Holm–Bonferroni over "
            "each variant's figures, then the metric's minimum effect)."]
    rows = []
    for c in found:
        kld, top1 = c["kld"], c["top1"]
        logits = ("no logits compared" if kld is None else f"KLD between the two runtimes {fmt(kld['value'])}, "
                  f"top-1 agreement {fmt(top1['value']) if top1 else '—'}")
        answers = (f"{c['same_answers']} of {c['answers']} greedy answers the same" if c["answers"]
                   else "no answers compared")
        text.append(f"`{c['variant']}` ({version(c['runtime'])}) against `{c['twin']}` "
                    f"({version(c['twin_runtime'])}): {answers}; {logits}.")
        for r in c["rows"]:
            change = "—" if r["change"] is None else f"{r['change']:+.1%}"
            rows.append([f"`{c['variant']}`", r["metric"], fmt(r["a"]), fmt(r["b"]), change, r["verdict"], r["how"]])
    return Section("Runtimes", "runtimes", text=text,
                   header=["variant", "figure", "main runtime", "this runtime", "change", "verdict", "how decided"],
                   rows=rows)


def _quality(results: dict) -> list[Section]:
    by_key = {(m["variant"], m["name"]): m for m in results.get("measurements", []) if m.get("suite") == "quality"}
    variants = [v["id"] for v in results["variants"] if any(k[0] == v["id"] for k in by_key)]
    sections = []
    task = [n for n in TASK_METRICS if any((v, n) in by_key for v in variants)]
    if task:
        rows = []
        for vid in variants:
            cells = [f"`{vid}`"]
            for name in task:
                m = by_key.get((vid, name))
                if m is None:
                    cells.append("—")
                    continue
                text = with_interval(m["value"], m.get("interval"))
                if m.get("paired"):
                    text += f" p={m['paired']['p_value']:.2g}"
                cells.append(text)
            rows.append(cells)
        sections.append(Section("Task quality", "task-quality", text=[
            "Share of examples passing each check [Wilson 95 %]; *p*: exact McNemar test against the reference "
            "on the same examples (small *p*: the difference is real). ROUGE-L: mean F1 [bootstrap 95 %]."],
            header=["variant"] + task, rows=rows))
    close = [v for v in variants if (v, "kld_mean") in by_key]
    if close:
        rows = []
        for vid in close:
            cells = [f"`{vid}`"]
            for _, key in CLOSENESS_COLUMNS:
                name, _, stat = key.partition(":")
                m = by_key.get((vid, name))
                if m is None:
                    cells.append("—")
                elif stat:
                    cells.append(fmt(m["stats"].get(stat)))
                else:
                    unc = m["stats"].get("uncertainty")
                    cells.append(fmt(m["value"]) + (f" ± {fmt(unc)}" if unc else ""))
            rows.append(cells + [str(by_key[(vid, "kld_mean")]["stats"].get("n"))])
        reference = by_key[(close[0], "kld_mean")].get("reference")
        sections.append(Section("Closeness to the reference", "closeness", text=[
            f"Against `{reference}` on the same tokens of domain text, as llama-perplexity --kl-divergence "
            "computes it (docs/guides/evaluation-data.md, *Quality suites*): value ± one standard error."],
            header=["variant"] + [c[0] for c in CLOSENESS_COLUMNS] + ["tokens"], rows=rows))
    return sections


GATE_CELLS = {"passed": "pass", "failed": "**FAIL**", "unjudged": "**FAIL** (not judged)", NOT_APPLICABLE: "n/a"}


def _gates(results: dict) -> Section | None:
    """Each gate's outcome per variant (one row a gate, one column a variant), then the detail of
    every gate that did not pass."""
    gates = results.get("gates") or {}
    judged = gates.get("results") or []
    if not judged:
        return None
    variants = list(dict.fromkeys(g["variant"] for g in judged))
    cell: dict[tuple[str, str], str] = {}
    for g in judged:
        outcome = "unjudged" if unjudged(g) else outcome_of(g)
        cell[(g["gate"], g["variant"])] = GATE_CELLS[outcome]
    names = list(dict.fromkeys(g["gate"] for g in judged))
    checks = {g["gate"]: g["check"] for g in judged}
    details = [f"`{g['variant']}`: {g['message']}" for g in judged if g["status"] != "passed"]
    return Section("Gates", "gates", text=[
        f"From {gates.get('origin')}" + (f"; baseline run `{gates['baseline']}`" if gates.get("baseline") else "")
        + ". pass; **FAIL**; **FAIL** (not judged): a measurement the gate needs is missing, so it fails; "
          "n/a: the gate does not apply to this run by design (with --strict-gates it fails).", *details],
        header=["gate", "check", *[f"`{v}`" for v in variants]],
        rows=[[name, f"`{checks[name]}`", *[cell.get((name, v), "—") for v in variants]] for name in names])


def _verdicts(results: dict) -> Section | None:
    verdicts = results.get("verdicts", [])
    if not verdicts:
        return None
    return Section("Verdicts", "verdicts", header=["variant", "suite", "verdict", "result", "detail"],
                   rows=[[f"`{v['variant']}`", v["suite"], v["name"], _verdict_cell(v), v.get("message", "")]
                         for v in verdicts], collapsed=True)


def _verdict_cell(verdict: dict) -> str:
    """pass, **FAIL**, or **FAIL** (unresolved) for a verdict whose interval could not decide."""
    if verdict.get("passed"):
        return "pass"
    return "**FAIL** (unresolved)" if verdict.get("outcome") == "unresolved" else "**FAIL**"


def _measurements(results: dict) -> Section | None:
    measurements = results.get("measurements", [])
    if not measurements:
        return None
    rows = []
    for m in measurements:
        interval = m.get("interval")
        rows.append([f"`{m['variant']}`", m["suite"], m["name"], fmt(m.get("value")),
                     f"[{fmt(interval[0])}, {fmt(interval[1])}]" if interval and None not in interval else "—",
                     str((m.get("stats") or {}).get("n", "—")), m["unit"]])
    return Section("Measurements", "measurements", text=[
        "Timings: the median with its bootstrap 95 % interval over the measured repetitions (warm-ups excluded). "
        "Shares (unit `fraction`): successes / n with the Wilson 95 % interval. Every figure is also in "
        "`results.csv`."], header=["variant", "suite", "metric", "value", "95 % interval", "n", "unit"],
        rows=rows, collapsed=True)
