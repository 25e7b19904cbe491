"""The recommendation: per provider, the precision to ship, and why.

A variant is *eligible* when it ran and passed every test (status ``passed``) and failed no gate.
A recommendation is a release decision, so there is none for a provider where a variant that
passed its tests was not judged on every gate that applies to it in the run (the gate tests
deselected with ``-k``, or the run stopped before them): the text says which gates are missing.
Among the eligible ones the cheapest by the objective wins:

- ``size``: the smallest on disk;
- ``speed``: the highest decode tokens/s (needs ``--benchmark``; without it, size decides);
- ``memory``: the lowest peak RSS (needs ``--benchmark``; without it, size decides).

The runner-up is the next cheapest eligible variant, with what choosing it would cost.
"""

from __future__ import annotations

from harness.common.formatting import fmt
from harness.results.precision import precision_table
from harness.results.view import RunResults
from harness.settings.config import OBJECTIVES as OBJECTIVE_NAMES

OBJECTIVES = {
    # objective: (row field, lower is better, how it reads)
    "size": ("size_mb", True, "size on disk"),
    "speed": ("decode_tps", False, "decode speed"),
    "memory": ("peak_rss_mb", True, "peak memory"),
}
assert tuple(OBJECTIVES) == OBJECTIVE_NAMES


def _figure(row: dict, field: str) -> str:
    units = {"size_mb": " MB", "decode_tps": " tokens/s", "peak_rss_mb": " MB"}
    return fmt(row.get(field)) + units[field]


def _quality(row: dict) -> str:
    parts = []
    if row.get("accuracy") is not None:
        parts.append(f"{row['accuracy_metric']} {row['accuracy']:.3f}")
    if row.get("kld_mean") is not None:
        parts.append(f"KLD {fmt(row['kld_mean'])}")
    return ", ".join(parts) if parts else "no quality measured"


def _why_not(row: dict) -> str | None:
    if row["status"] != "passed":
        return f"status {row['status']}"
    if row["gates"]["failed"]:
        return f"failed {row['gates']['failed']} gate(s)"
    if row["gates_not_judged"]:
        return "gates not judged in this run: " + ", ".join(row["gates_not_judged"])
    return None


def _overlaps(a, b) -> bool:
    return bool(a and b and None not in a and None not in b and a[0] <= b[1] and b[0] <= a[1])


def recommend(results: RunResults | dict, objective: str = "size") -> list[dict]:
    """One recommendation per provider of the run, per machine in a merged run (see the module's
    docstring)."""
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r} (choose from {', '.join(OBJECTIVES)})")
    rows = precision_table(results)
    out = []
    for machine, provider in dict.fromkeys((r.get("machine"), r["provider"]) for r in rows):
        candidates = [r for r in rows if r["provider"] == provider and r.get("machine") == machine]
        where = provider if machine is None else f"{provider} of machine {machine}"
        excluded = [(r["variant"], why) for r in candidates if (why := _why_not(r))]
        eligible = [r for r in candidates if _why_not(r) is None]
        field, lower, reads = OBJECTIVES[objective]
        used = objective
        if eligible and any(r.get(field) is None for r in eligible):
            field, lower, reads = OBJECTIVES["size"]
            used = "size"
        eligible.sort(key=lambda r: (r.get(field) if lower else -(r.get(field) or 0.0), r["variant"]))
        entry = {
            "provider": provider,
            "machine": machine,
            "objective": objective,
            "objective_used": used,
            "choice": None,
            "runner_up": None,
            "excluded": excluded,
            "text": "",
        }
        unjudged = [r for r in candidates if r["status"] == "passed" and r["gates_not_judged"]]
        if unjudged:
            entry["excluded"] = [
                (r["variant"], "gates not judged in this run: " + ", ".join(r["gates_not_judged"])) for r in unjudged
            ]
            missing: dict[tuple[str, ...], list[str]] = {}  # the same gates missing: one clause
            for r in unjudged:
                missing.setdefault(tuple(r["gates_not_judged"]), []).append(r["variant"])
            entry["text"] = (
                f"No recommendation on {where}: a recommendation needs every release gate judged, and "
                + "; ".join(
                    f"{', '.join(variants)} {'was' if len(variants) == 1 else 'were'} not judged on {', '.join(gates)}"
                    for gates, variants in missing.items()
                )
                + " in this run (the gate tests were deselected or not reached)."
            )
            out.append(entry)
            continue
        if not eligible:
            entry["text"] = (
                f"Nothing to ship on {where}: no variant passed every test and gate ("
                + "; ".join(f"{v}: {why}" for v, why in excluded)
                + ")."
            )
            out.append(entry)
            continue
        best = eligible[0]
        entry["choice"] = best["variant"]
        sentences = [
            f"Ship **{best['variant']}** on {where}: the {'smallest' if lower else 'fastest'} by "
            f"{reads} ({_figure(best, field)}) among the variants that passed every test and gate, "
            f"with {_quality(best)}."
        ]
        if used != objective:
            sentences.append(f"(The {objective} objective needs --benchmark figures this run lacks; size decided.)")
        unmeasured = sorted({g for r in eligible for g in r["gates_without_benchmark"]})
        if unmeasured:
            sentences.append(
                f"Judged without --benchmark: the performance gate{'s' if len(unmeasured) > 1 else ''} "
                f"{', '.join(unmeasured)} did not take part in this decision."
            )
        if len(eligible) > 1:
            runner = eligible[1]
            entry["runner_up"] = runner["variant"]
            ratio = (runner.get(field) or 0) / best[field] if best.get(field) else None
            cost = f"{fmt(ratio)}× the {reads}" if lower else f"{fmt(1 / ratio) if ratio else '—'}× slower decoding"
            overlap = ""
            if used == "speed" and _overlaps(best.get("decode_tps_ci"), runner.get("decode_tps_ci")):
                overlap = " Their speed intervals overlap: on this objective the two are within noise."
            sentences.append(
                f"Runner-up: {runner['variant']} ({_figure(runner, field)}, {_quality(runner)}), at {cost}.{overlap}"
            )
        if excluded:
            sentences.append("Not eligible: " + "; ".join(f"{v} ({why})" for v, why in excluded) + ".")
        entry["text"] = " ".join(sentences)
        out.append(entry)
    return out
