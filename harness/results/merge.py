"""``python -m harness merge RUN_DIR...``: several runs (say, a CI matrix over machines) as one
results.json with the machine as a dimension.

Every variant keeps its own machine: ids become ``<variant>@<machine>`` (the machine label is the
start of its fingerprint), every record carries ``machine``, and no figure is ever pooled across
runs, so performance figures of unlike machines never mix. The runs must be of the same model
(same content hash); two runs from one machine stay apart too (their label gets the run id).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

from harness.common.clock import compact_stamp
from harness.errors import HarnessError
from harness.results.store import SCHEMA_VERSION
from harness.results.view import RunResults, as_results


def merge(runs: list[RunResults | dict]) -> dict:
    """The runs as one results.json dictionary (see the module's docstring)."""
    runs = [as_results(r) for r in runs]
    if len(runs) < 2:
        raise HarnessError("merge needs at least two runs")
    seen: dict[str, int] = {}
    for position, run in enumerate(runs, start=1):
        if run.run_id in seen:
            raise HarnessError(
                f"run {run.run_id} is given twice (runs {seen[run.run_id]} and {position}): merge each run once"
            )
        seen[run.run_id] = position
    if len({r.model.get("content_hash") for r in runs}) > 1:
        raise HarnessError("the runs are of different models (content hashes differ); merge runs of one model")
    fingerprints = [r.environment.get("machine_fingerprint", "unknown") for r in runs]
    merged: dict = {
        "schema_version": SCHEMA_VERSION,
        "run": {
            "id": "merged-" + compact_stamp(),
            "complete": all(r.run.get("complete") for r in runs),
            "merged_from": [r.run_id for r in runs],
            "command": ["python", "-m", "harness", "merge", *(r.run_id for r in runs)],
            "profile": runs[0].run.get("profile"),
            "started_at": min(r.run.get("started_at", "") for r in runs),
            "ended_at": max(r.run.get("ended_at") or "" for r in runs),
            "settings": copy.deepcopy(runs[0].run.get("settings", {})),
        },
        "environment": copy.deepcopy(dict(runs[0].environment)),
        "model": copy.deepcopy(runs[0].data.get("model")),
        "machines": [],
        "variants": [],
        "measurements": [],
        "verdicts": [],
        "answers": [],
        "datasets": [],
        "prompt_format": copy.deepcopy(runs[0].data.get("prompt_format")),
        "reference_precision": runs[0].data.get("reference_precision"),
        "gates": {"origin": "merged runs", "definitions": [], "baseline": None, "results": []},
    }
    for run, fingerprint in zip(runs, fingerprints):
        label = fingerprint[:6] if fingerprints.count(fingerprint) == 1 else f"{fingerprint[:6]}-{run.run_id}"
        merged["machines"].append(
            {
                "label": label,
                "fingerprint": fingerprint,
                "cpu_model": run.environment.get("cpu_model"),
                "cores": run.environment.get("cores_usable"),
                "run": run.run_id,
            }
        )

        def renamed(record: Mapping, label: str = label) -> dict:
            out = {**copy.deepcopy(dict(record)), "variant": f"{record['variant']}@{label}", "machine": label}
            if record.get("reference"):  # closeness names its reference: a variant of the same machine
                out["reference"] = f"{record['reference']}@{label}"
            return out

        merged["variants"] += [
            {**copy.deepcopy(dict(v.record)), "id": f"{v.id}@{label}", "machine": label} for v in run.variants
        ]
        merged["measurements"] += [renamed(m.to_dict()) for m in run.measurements]
        merged["verdicts"] += [renamed(v.to_dict()) for v in run.verdicts]
        merged["answers"] += [renamed(a) for a in run.answers]
        merged["gates"]["results"] += [renamed(g.record) for g in run.gate_results]
        # each run's gates, for its own variants: a recommendation needs every one judged
        merged["gates"]["definitions"] += [{**d, "machine": label} for d in run.gate_definitions]
        for dataset in run.datasets:
            if dataset not in merged["datasets"]:
                merged["datasets"].append(dataset)
    return merged
