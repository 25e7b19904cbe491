"""``python -m harness merge RUN_DIR...``: several runs (say, a CI matrix over machines) as one
results.json with the machine as a dimension.

Every variant keeps its own machine: ids become ``<variant>@<machine>`` (the machine label is the
start of its fingerprint), every record carries ``machine``, and no figure is ever pooled across
runs, so performance figures of unlike machines never mix. The runs must be of the same model
(same content hash); two runs from one machine stay apart too (their label gets the run id).
"""

from __future__ import annotations

import copy

from harness.common.clock import compact_stamp
from harness.errors import HarnessError
from harness.results.store import SCHEMA_VERSION


def merge(runs: list[dict]) -> dict:
    if len(runs) < 2:
        raise HarnessError("merge needs at least two runs")
    seen: dict[str, int] = {}
    for position, run in enumerate(runs, start=1):
        run_id = run["run"]["id"]
        if run_id in seen:
            raise HarnessError(f"run {run_id} is given twice (runs {seen[run_id]} and {position}): merge each run once")
        seen[run_id] = position
    hashes = {(r.get("model") or {}).get("content_hash") for r in runs}
    if len(hashes) > 1:
        raise HarnessError("the runs are of different models (content hashes differ); merge runs of one model")
    fingerprints = [r.get("environment", {}).get("machine_fingerprint", "unknown") for r in runs]
    merged: dict = {
        "schema_version": SCHEMA_VERSION,
        "run": {"id": "merged-" + compact_stamp(), "complete": all(r["run"].get("complete") for r in runs),
                "merged_from": [r["run"]["id"] for r in runs],
                "started_at": min(r["run"].get("started_at", "") for r in runs),
                "ended_at": max(r["run"].get("ended_at") or "" for r in runs),
                "settings": runs[0]["run"].get("settings", {})},
        "environment": copy.deepcopy(runs[0].get("environment", {})),
        "model": runs[0].get("model"),
        "machines": [], "variants": [], "measurements": [], "verdicts": [], "answers": [], "datasets": [],
        "gates": {"origin": "merged runs", "definitions": [], "results": []},
    }
    for run, fingerprint in zip(runs, fingerprints):
        label = fingerprint[:6] if fingerprints.count(fingerprint) == 1 else f"{fingerprint[:6]}-{run['run']['id']}"
        env = run.get("environment", {})
        merged["machines"].append({"label": label, "fingerprint": fingerprint, "cpu_model": env.get("cpu_model"),
                                   "cores": env.get("cores_usable"), "run": run["run"]["id"]})

        def renamed(record: dict, label: str = label) -> dict:
            out = {**copy.deepcopy(record), "variant": f"{record['variant']}@{label}", "machine": label}
            if record.get("reference"):  # closeness names its reference: a variant of the same machine
                out["reference"] = f"{record['reference']}@{label}"
            return out

        for variant in run.get("variants", []):
            merged["variants"].append({**copy.deepcopy(variant), "id": f"{variant['id']}@{label}", "machine": label})
        for key in ("measurements", "verdicts", "answers"):
            merged[key] += [renamed(r) for r in run.get(key, [])]
        merged["gates"]["results"] += [renamed(g) for g in (run.get("gates") or {}).get("results", [])]
        # each run's gates, for its own variants: a recommendation needs every one judged
        merged["gates"]["definitions"] += [{**d, "machine": label}
                                           for d in (run.get("gates") or {}).get("definitions", [])]
        for dataset in run.get("datasets") or []:
            if dataset not in merged["datasets"]:
                merged["datasets"].append(dataset)
    return merged
