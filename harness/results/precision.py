"""The precision trade-off table, read from a run's results: one row per variant with its size,
speed, memory, accuracy and closeness (the tutorial's table, measured), and whether its gates were
judged. The reports lead with it and the recommendation chooses from it."""

from __future__ import annotations

from harness.gates.judge import OUTCOMES, not_judged, outcome_of, without_benchmark

# The headline figures per variant: (column, measurement name, scale). Quality "accuracy" is the
# first task metric a run has: the share of evaluation examples that pass every check they carry,
# else exact match, else the smoke suite's exact match.
ACCURACY_METRICS = ("all_checks", "exact_match", "smoke_exact_match")


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

        def interval(name, variant_id=vid):
            record = find(results, variant_id, name)
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
            "builder": v.get("builder"),
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
