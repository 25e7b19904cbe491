"""The precision trade-off table, read from a run's results: one row per variant with its size,
speed, memory, accuracy and closeness (the tutorial's table, measured), and whether its gates were
judged. The reports lead with it and the recommendation chooses from it."""

from __future__ import annotations

from harness.measure.records import Measurement
from harness.results.view import RunResults, as_results

# Quality "accuracy" is the first task metric a run has: the share of evaluation examples that pass
# every check they carry, else exact match, else the smoke suite's exact match.
ACCURACY_METRICS = ("all_checks", "exact_match", "smoke_exact_match")


def accuracy_of(results: RunResults, variant: str) -> Measurement | None:
    return next((m for m in (results.find(variant, name) for name in ACCURACY_METRICS) if m is not None), None)


def precision_table(results: RunResults | dict) -> list[dict]:
    """One row per variant: the tutorial's table, measured. Every figure comes with what is
    needed to show its interval (``*_ci``) or its uncertainty; absent figures are None."""
    results = as_results(results)
    rows = []
    for v in results.variants:
        vid = v.id

        def interval(name, variant_id=vid):
            record = results.find(variant_id, name)
            return record.interval if record else None

        base = results.fp32_twin(v)
        size, base_size = v.size_bytes, base.size_bytes if base else None
        decode = results.value(vid, "decode_tps")
        base_decode = results.value(base.id, "decode_tps") if base else None
        accuracy = accuracy_of(results, vid)
        kld = results.find(vid, "kld_mean")
        top1 = results.find(vid, "top1_agreement")
        peak = results.value(vid, "peak_rss_bytes")
        rows.append(
            {
                "variant": vid,
                "precision": v.precision,
                "provider": v.provider,
                "status": v.status,
                "builder": v.builder,
                "machine": v.machine,
                "reason": v.reason,
                "size_mb": size / 1e6 if size else None,
                "size_x_fp32": size / base_size if size and base_size else None,
                "load_s": v.load_s,
                "ttft_ms": results.value(vid, "ttft_ms"),
                "ttft_ms_ci": interval("ttft_ms"),
                "decode_tps": decode,
                "decode_tps_ci": interval("decode_tps"),
                "decode_x_fp32": decode / base_decode if decode and base_decode else None,
                "peak_rss_mb": peak / 1e6 if peak else None,
                "accuracy_metric": accuracy.name if accuracy else None,
                "accuracy": accuracy.value if accuracy else None,
                "accuracy_ci": accuracy.interval if accuracy else None,
                "kld_mean": kld.value if kld else None,
                "kld_uncertainty": kld.stats.get("uncertainty") if kld else None,
                "top1_agreement": top1.value if top1 else None,
                "top1_uncertainty": top1.stats.get("uncertainty") if top1 else None,
                "gates": results.gate_counts(vid),
                "gates_not_judged": results.not_judged(v),
                "gates_without_benchmark": results.without_benchmark(vid),
            }
        )
    return rows
