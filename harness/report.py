"""Render a run's ``results.json`` as ``report.md`` (the only module that writes report files
besides ``results.json`` itself, which :mod:`harness.results` owns)."""

from __future__ import annotations

from pathlib import Path

MB = 1e6


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def render_markdown(results: dict) -> str:
    run, env, model = results["run"], results["environment"], results.get("model") or {}
    lines = [f"# Run {run['id']}", ""]
    state = "complete" if run.get("complete") else "INCOMPLETE (interrupted or still running)"
    lines += [
        f"- **Status**: {state}; started {run.get('started_at')}, ended {run.get('ended_at') or '—'}",
        f"- **Model**: {model.get('name', '—')} ({model.get('architecture', '?')}, "
        f"{model.get('num_attention_heads', '?')} heads / {model.get('num_key_value_heads', '?')} KV heads), "
        f"hash `{str(model.get('content_hash', ''))[:12]}`",
        f"- **Machine**: {env.get('cpu_model')}, {env.get('cores_usable')} cores, "
        f"{(env.get('memory_total_bytes') or 0) / 2**30:.1f} GiB, {env.get('os')}",
        f"- **Toolchain**: onnxruntime-genai {env['packages'].get('onnxruntime-genai')}, "
        f"onnxruntime {env['packages'].get('onnxruntime')}, olive-ai {env['packages'].get('olive-ai')}",
        f"- **Profile**: {run.get('settings', {}).get('profile', {}).get('value', '—')}",
        "",
        "## Variants",
        "",
    ]
    variants = results["variants"]
    fp32 = {v["provider"]: v.get("size_bytes") for v in variants if v.get("precision") == "fp32"}
    lines.append("| variant | status | size on disk | × fp32 | build s | quantization | load s | note |")
    lines.append("| --- | --- | ---: | ---: | ---: | --- | ---: | --- |")
    for v in variants:
        size = v.get("size_bytes")
        base = fp32.get(v.get("provider"))
        ratio = f"{size / base:.3f}" if size and base else "—"
        q = v.get("quantization") or {}
        quant = "—"
        if q:
            quant = (f"{q.get('matmul_nbits')}× MatMulNBits {','.join(map(str, q.get('bits', [])))}-bit "
                     f"block {','.join(map(str, q.get('block_sizes', [])))}" if q.get("matmul_nbits")
                     else f"float ({', '.join(q.get('weight_dtypes', {}))})")
        note = v.get("reason") or v.get("error") or ""
        note = note.splitlines()[0] if note else ""
        lines.append(
            f"| `{v['id']}` | {v.get('status')} | {_fmt(size / MB) + ' MB' if size else '—'} | {ratio} | "
            f"{_fmt(v.get('build_seconds'))} | {quant} | {_fmt(v.get('load_s'))} | {note} |")
    lines += _performance_table(results)
    lines += _quality_tables(results)
    lines += _gates_table(results)
    verdicts = results.get("verdicts", [])
    if verdicts:
        lines += ["", "## Verdicts", "", "| variant | suite | verdict | result | detail |",
                  "| --- | --- | --- | --- | --- |"]
        for v in verdicts:
            lines.append(f"| `{v['variant']}` | {v['suite']} | {v['name']} | "
                         f"{'pass' if v.get('passed') else '**FAIL**'} | {v.get('message', '')} |")
    measurements = results.get("measurements", [])
    if measurements:
        lines += ["", "## Measurements", "",
                  "Timings: the median with its bootstrap 95 % interval over the measured repetitions "
                  "(warm-ups excluded). Shares (unit `fraction`): successes / n with the Wilson "
                  "95 % interval.", "",
                  "| variant | suite | metric | value | 95 % interval | n | unit |",
                  "| --- | --- | --- | ---: | --- | ---: | --- |"]
        for m in measurements:
            interval = m.get("interval")
            shown = f"[{_fmt(interval[0])}, {_fmt(interval[1])}]" if interval else "—"
            lines.append(f"| `{m['variant']}` | {m['suite']} | {m['name']} | {_fmt(m.get('value'))} | "
                         f"{shown} | {m.get('stats', {}).get('n', '—')} | {m['unit']} |")
    lines.append("")
    return "\n".join(lines)


# (column title, measurement name, scale, unit shown): the headline figures per variant
PERFORMANCE_COLUMNS = (
    ("TTFT ms", "ttft_ms", 1, ""),
    ("decode tok/s", "decode_tps", 1, ""),
    ("TPOT ms", "tpot_ms", 1, ""),
    ("prefill tok/s", "prefill_tps", 1, ""),
    ("prefill ms/token (fit)", "prefill_ms_per_token", 1, ""),
    ("decode +ms per 1k ctx (fit)", "decode_tpot_ms_per_1k_context", 1, ""),
    ("bandwidth efficiency", "bandwidth_efficiency", 1, ""),
    ("peak RSS MB", "peak_rss_bytes", 1e-6, ""),
    ("load footprint MB", "load_footprint_bytes", 1e-6, ""),
    ("KV cache MB", "kv_cache_bytes", 1e-6, ""),
)


def _performance_table(results: dict) -> list[str]:
    """One row per variant with the headline performance figures: value [95 % interval]."""
    by_key = {(m["variant"], m["name"]): m for m in results.get("measurements", [])}
    variants = [v["id"] for v in results["variants"]
                if any((v["id"], name) in by_key for _, name, _, _ in PERFORMANCE_COLUMNS)]
    if not variants:
        return []
    columns = [c for c in PERFORMANCE_COLUMNS if any((v, c[1]) in by_key for v in variants)]
    lines = ["", "## Performance per variant", "",
             "Median [95 % interval] (fits: slope [95 % interval]); warm-ups excluded. "
             "Definitions: README, *Metrics*.", "",
             "| variant | " + " | ".join(c[0] for c in columns) + " |",
             "| --- | " + " | ".join("---:" for _ in columns) + " |"]
    for vid in variants:
        cells = []
        for _, name, scale, _ in columns:
            m = by_key.get((vid, name))
            if m is None or m.get("value") is None:
                cells.append("—")
                continue
            text = _fmt(m["value"] * scale)
            interval = m.get("interval")
            if interval and None not in interval and interval[0] != interval[1]:
                text += f" [{_fmt(interval[0] * scale)}, {_fmt(interval[1] * scale)}]"
            cells.append(text)
        lines.append(f"| `{vid}` | " + " | ".join(cells) + " |")
    return lines


TASK_METRICS = ("exact_match", "contains", "regex", "json_valid", "json_schema", "numeric", "rouge_l")
CLOSENESS_COLUMNS = (("KLD mean", "kld_mean"), ("KLD p99", "kld_mean:p99"), ("KLD max", "kld_mean:max"),
                     ("top-1 agreement", "top1_agreement"), ("Δp RMS", "delta_p_rms"),
                     ("PPL ratio", "ppl_ratio"))


def _quality_tables(results: dict) -> list[str]:
    """Task scores (share [Wilson 95 %], McNemar p against the reference) and closeness to the
    reference (value ± uncertainty), one row per variant."""
    by_key = {(m["variant"], m["name"]): m for m in results.get("measurements", []) if m.get("suite") == "quality"}
    if not by_key:
        return []
    variants = [v["id"] for v in results["variants"] if any(k[0] == v["id"] for k in by_key)]
    lines = []
    task = [n for n in TASK_METRICS if any((v, n) in by_key for v in variants)]
    if task:
        sets = results.get("datasets") or [{}]
        lines += ["", "## Task quality", "",
                  f"Data: `{sets[0].get('name')}` ({sets[0].get('used')} of {sets[0].get('records')} records, "
                  f"sha256 `{str(sets[0].get('sha256', ''))[:12]}`). Share of examples passing each check "
                  "[Wilson 95 %]; *p*: exact McNemar test against the reference on the same examples "
                  "(small *p*: the difference is real). ROUGE-L: mean F1 [bootstrap 95 %].", "",
                  "| variant | " + " | ".join(task) + " |", "| --- | " + " | ".join("---:" for _ in task) + " |"]
        for vid in variants:
            cells = []
            for name in task:
                m = by_key.get((vid, name))
                if m is None:
                    cells.append("—")
                    continue
                text = f"{m['value']:.3f}"
                if m.get("interval") and None not in m["interval"]:
                    text += f" [{m['interval'][0]:.3f}, {m['interval'][1]:.3f}]"
                if m.get("paired"):
                    text += f" p={m['paired']['p_value']:.2g}"
                cells.append(text)
            lines.append(f"| `{vid}` | " + " | ".join(cells) + " |")
    rows = [v for v in variants if (v, "kld_mean") in by_key]
    if rows:
        reference = by_key[(rows[0], "kld_mean")].get("reference")
        lines += ["", "## Closeness to the reference", "",
                  f"Against `{reference}` on the same tokens of domain text, as llama-perplexity "
                  "--kl-divergence computes it (README, *Quality metrics*): value ± one standard error.", "",
                  "| variant | " + " | ".join(c[0] for c in CLOSENESS_COLUMNS) + " | tokens |",
                  "| --- | " + " | ".join("---:" for _ in CLOSENESS_COLUMNS) + " | ---: |"]
        for vid in rows:
            cells = []
            for _, key in CLOSENESS_COLUMNS:
                name, _, stat = key.partition(":")
                m = by_key.get((vid, name))
                if m is None:
                    cells.append("—")
                elif stat:
                    cells.append(_fmt(m["stats"].get(stat)))
                else:
                    unc = m["stats"].get("uncertainty")
                    cells.append(_fmt(m["value"]) + (f" ± {_fmt(unc)}" if unc else ""))
            lines.append(f"| `{vid}` | " + " | ".join(cells) + f" | {by_key[(vid, 'kld_mean')]['stats'].get('n')} |")
    return lines


def _gates_table(results: dict) -> list[str]:
    gates = results.get("gates") or {}
    judged = gates.get("results") or []
    if not judged:
        return []
    lines = ["", "## Gates", "", f"From {gates.get('origin')}"
             + (f"; baseline run `{gates['baseline']}`" if gates.get("baseline") else "") + ".", "",
             "| gate | variant | result | detail |", "| --- | --- | --- | --- |"]
    shown = {"passed": "pass", "failed": "**FAIL**", "skipped": "skipped"}
    for g in judged:
        lines.append(f"| {g['gate']} | `{g['variant']}` | {shown.get(g['status'], g['status'])} | {g['message']} |")
    return lines


def write_report(run_dir: Path, results: dict) -> Path:
    path = run_dir / "report.md"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(render_markdown(results), encoding="utf-8")
    tmp.replace(path)
    return path
