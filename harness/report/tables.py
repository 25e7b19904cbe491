"""A run's results as tables: the tidy measurement table written as ``results.csv`` (pandas), and
the precision trade-off table (:mod:`harness.results.precision`) as text cells."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from harness.common.formatting import fmt, with_interval, with_uncertainty
from harness.results.view import NOT_APPLICABLE, RunResults


def machine_label(environment: Mapping) -> str:
    cpu = (environment.get("cpu_model") or "cpu").replace("(R)", "").replace("(TM)", "")
    return (
        f"{' '.join(cpu.split()[:3])} ×{environment.get('cores_usable', '?')} "
        f"[{str(environment.get('machine_fingerprint', ''))[:6]}]"
    )


def measurements_frame(results: RunResults) -> pd.DataFrame:
    """One row per measurement (tidy): the value, its interval and n, with the variant's
    precision and provider and the machine it was measured on."""
    machine = machine_label(results.environment)
    rows = []
    for m in results.measurements:
        interval = m.interval or [None, None]
        variant = results.variant(m.variant)
        rows.append(
            {
                "run": results.run_id,
                "machine": m.extra.get("machine", machine),
                "variant": m.variant,
                "precision": variant.precision if variant else None,
                "provider": variant.provider if variant else None,
                "suite": m.suite,
                "metric": m.name,
                "unit": m.unit,
                "estimator": m.estimator,
                "value": m.value,
                "ci_low": interval[0],
                "ci_high": interval[1],
                "uncertainty": m.stats.get("uncertainty"),
                "n": m.stats.get("n"),
                "higher_is_better": m.higher_is_better,
            }
        )
    columns = [
        "run",
        "machine",
        "variant",
        "precision",
        "provider",
        "suite",
        "metric",
        "unit",
        "estimator",
        "value",
        "ci_low",
        "ci_high",
        "uncertainty",
        "n",
        "higher_is_better",
    ]
    return pd.DataFrame(rows, columns=columns)


def precision_rows_text(rows: list[dict], references: set[str] = frozenset()) -> tuple[list[str], list[list[str]]]:
    """The precision table as header and text cells, shared by report.md, report.html and the
    terminal summary; ``references`` are shown as such in the closeness columns."""
    header = [
        "variant",
        "status",
        "size MB",
        "× fp32",
        "load s",
        "TTFT ms",
        "decode tok/s",
        "× fp32",
        "peak RSS MB",
        "accuracy",
        "KLD",
        "top-1",
        "gates",
    ]
    body = []
    for r in rows:
        gates = r["gates"]
        gate_text = (
            f"{gates['passed']} ✓ {gates['failed']} "
            "✗" + (f" ({gates[NOT_APPLICABLE]} n/a)" if gates[NOT_APPLICABLE] else "")
            if sum(gates.values())
            else "—"
        )
        body.append(
            [
                r["variant"],
                r["status"] or "—",
                fmt(r["size_mb"]),
                fmt(r["size_x_fp32"]),
                fmt(r["load_s"]),
                with_interval(r["ttft_ms"], r["ttft_ms_ci"]),
                with_interval(r["decode_tps"], r["decode_tps_ci"]),
                fmt(r["decode_x_fp32"]),
                fmt(r["peak_rss_mb"]),
                with_interval(r["accuracy"], r["accuracy_ci"]) if r["accuracy"] is not None else "—",
                "reference" if r["variant"] in references else with_uncertainty(r["kld_mean"], r["kld_uncertainty"]),
                "reference"
                if r["variant"] in references
                else with_uncertainty(r["top1_agreement"], r["top1_uncertainty"]),
                gate_text,
            ]
        )
    return header, body
