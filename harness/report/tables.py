"""A run's results as tables (pandas): the tidy measurement table written as ``results.csv``, and
the precision trade-off table (the tutorial's table, measured) that the reports lead with."""

from __future__ import annotations

import math

import pandas as pd

from harness.gates.judge import NOT_APPLICABLE, OUTCOMES, not_judged, outcome_of, without_benchmark

# The headline figures per variant: (column, measurement name, scale). Quality "accuracy" is the
# first task metric a run has: the share of evaluation examples that pass every check they carry,
# else exact match, else the smoke suite's exact match.
ACCURACY_METRICS = ("all_checks", "exact_match", "smoke_exact_match")


def machine_label(environment: dict) -> str:
    cpu = (environment.get("cpu_model") or "cpu").replace("(R)", "").replace("(TM)", "")
    return f"{' '.join(cpu.split()[:3])} ×{environment.get('cores_usable', '?')} [{str(environment.get('machine_fingerprint', ''))[:6]}]"


def measurements_frame(results: dict) -> pd.DataFrame:
    """One row per measurement (tidy): the value, its interval and n, with the variant's
    precision and provider and the machine it was measured on."""
    variants = {v["id"]: v for v in results.get("variants", [])}
    machine = machine_label(results.get("environment", {}))
    rows = []
    for m in results.get("measurements", []):
        interval = m.get("interval") or [None, None]
        variant = variants.get(m["variant"], {})
        rows.append({
            "run": results["run"]["id"], "machine": m.get("machine", machine), "variant": m["variant"],
            "precision": variant.get("precision"), "provider": variant.get("provider"),
            "suite": m.get("suite"), "metric": m["name"], "unit": m.get("unit"),
            "estimator": m.get("estimator"), "value": m.get("value"),
            "ci_low": interval[0], "ci_high": interval[1],
            "uncertainty": (m.get("stats") or {}).get("uncertainty"),
            "n": (m.get("stats") or {}).get("n"), "higher_is_better": m.get("higher_is_better"),
        })
    columns = ["run", "machine", "variant", "precision", "provider", "suite", "metric", "unit", "estimator",
               "value", "ci_low", "ci_high", "uncertainty", "n", "higher_is_better"]
    return pd.DataFrame(rows, columns=columns)


def references_of(results: dict) -> set[str]:
    """The variants the closeness suite compared others with."""
    return {m["reference"] for m in results.get("measurements", []) if m["name"] == "kld_mean" and m.get("reference")}


def find(results: dict, variant: str, name: str) -> dict | None:
    """The last measurement ``name`` of ``variant`` (names are unique per variant within a run)."""
    found = [m for m in results.get("measurements", []) if m["variant"] == variant and m["name"] == name]
    return found[-1] if found else None


def accuracy_of(results: dict, variant: str) -> dict | None:
    for name in ACCURACY_METRICS:
        record = find(results, variant, name)
        if record is not None:
            return record
    return None


def gate_counts(results: dict, variant: str) -> dict[str, int]:
    judged = [g for g in (results.get("gates") or {}).get("results", []) if g["variant"] == variant]
    return {status: sum(1 for g in judged if outcome_of(g) == status) for status in OUTCOMES}


def _reference_value(results: dict, variants: list[dict], variant: dict, get) -> float | None:
    """``get`` of the fp32 variant on the same provider (the tutorial's "× base")."""
    base = next((v for v in variants if v.get("precision") == "fp32" and v.get("provider") == variant.get("provider")
                 and v.get("machine") == variant.get("machine")), None)
    return get(base) if base is not None else None


def precision_table(results: dict) -> list[dict]:
    """One row per variant: the tutorial's table, measured. Every figure comes with what is
    needed to show its interval (``*_ci``) or its uncertainty; absent figures are None."""
    variants = results.get("variants", [])
    rows = []
    for v in variants:
        vid = v["id"]

        def value(name, variant_id=vid):
            record = find(results, variant_id, name)
            return record.get("value") if record else None

        def interval(name):
            record = find(results, vid, name)
            return record.get("interval") if record else None

        size = v.get("size_bytes")
        base_size = _reference_value(results, variants, v, lambda b: b.get("size_bytes"))
        decode = value("decode_tps")
        base_decode = _reference_value(results, variants, v, lambda b: value("decode_tps", b["id"]))
        accuracy = accuracy_of(results, vid)
        kld = find(results, vid, "kld_mean")
        top1 = find(results, vid, "top1_agreement")
        peak = value("peak_rss_bytes")
        rows.append({
            "variant": vid, "precision": v.get("precision"), "provider": v.get("provider"), "status": v.get("status"),
            "machine": v.get("machine"),
            "reason": v.get("reason") or "",
            "size_mb": size / 1e6 if size else None,
            "size_x_fp32": size / base_size if size and base_size else None,
            "load_s": v.get("load_s"),
            "ttft_ms": value("ttft_ms"), "ttft_ms_ci": interval("ttft_ms"),
            "decode_tps": decode, "decode_tps_ci": interval("decode_tps"),
            "decode_x_fp32": decode / base_decode if decode and base_decode else None,
            "peak_rss_mb": peak / 1e6 if peak else None,
            "accuracy_metric": accuracy["name"] if accuracy else None,
            "accuracy": accuracy.get("value") if accuracy else None,
            "accuracy_ci": accuracy.get("interval") if accuracy else None,
            "kld_mean": kld.get("value") if kld else None,
            "kld_uncertainty": (kld.get("stats") or {}).get("uncertainty") if kld else None,
            "top1_agreement": top1.get("value") if top1 else None,
            "top1_uncertainty": (top1.get("stats") or {}).get("uncertainty") if top1 else None,
            "gates": gate_counts(results, vid),
            "gates_not_judged": not_judged(results, v),
            "gates_without_benchmark": without_benchmark(results, vid),
        })
    return rows


def fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def with_interval(value, interval, digits: int = 3) -> str:
    text = fmt(value, digits)
    if value is not None and interval and None not in interval and interval[0] != interval[1]:
        text += f" [{fmt(interval[0], digits)}, {fmt(interval[1], digits)}]"
    return text


def with_uncertainty(value, uncertainty, digits: int = 3) -> str:
    text = fmt(value, digits)
    if value is not None and uncertainty:
        text += f" ± {fmt(uncertainty, 2)}"
    return text


def precision_rows_text(rows: list[dict], references: set[str] = frozenset()) -> tuple[list[str], list[list[str]]]:
    """The precision table as header and text cells, shared by report.md, report.html and the
    terminal summary; ``references`` are shown as such in the closeness columns."""
    header = ["variant", "status", "size MB", "× fp32", "load s", "TTFT ms", "decode tok/s", "× fp32",
              "peak RSS MB", "accuracy", "KLD", "top-1", "gates"]
    body = []
    for r in rows:
        gates = r["gates"]
        gate_text = (f"{gates['passed']} ✓ {gates['failed']} ✗" + (f" ({gates[NOT_APPLICABLE]} n/a)" if gates[NOT_APPLICABLE] else "")
                     if sum(gates.values()) else "—")
        body.append([
            r["variant"], r["status"] or "—", fmt(r["size_mb"]), fmt(r["size_x_fp32"]), fmt(r["load_s"]),
            with_interval(r["ttft_ms"], r["ttft_ms_ci"]), with_interval(r["decode_tps"], r["decode_tps_ci"]),
            fmt(r["decode_x_fp32"]), fmt(r["peak_rss_mb"]),
            with_interval(r["accuracy"], r["accuracy_ci"]) if r["accuracy"] is not None else "—",
            "reference" if r["variant"] in references else with_uncertainty(r["kld_mean"], r["kld_uncertainty"]),
            "reference" if r["variant"] in references else with_uncertainty(r["top1_agreement"], r["top1_uncertainty"]),
            gate_text,
        ])
    return header, body
