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


def write_report(run_dir: Path, results: dict) -> Path:
    path = run_dir / "report.md"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(render_markdown(results), encoding="utf-8")
    tmp.replace(path)
    return path
