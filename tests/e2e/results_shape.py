"""What a results.json holds, without its figures: which variants, which measurements (name, unit,
estimator, kind of value), which verdicts and which gates. Two runs of the same settings on the
same model have the same shape, whatever the machine measured."""

from __future__ import annotations

import re


def _kind(value) -> str:
    return "null" if value is None else "number" if isinstance(value, (int, float)) else type(value).__name__


def shape(results: dict) -> dict:
    at_length = re.compile(r"@\d+$")  # ttft_ms@128: the points depend on the model's context
    return {
        "schema_version": results["schema_version"],
        "variants": sorted([v["id"], v["status"]] for v in results["variants"]),
        "measurements": sorted(
            {
                (m["variant"], m["suite"], at_length.sub("@P", m["name"]), m["unit"], m["estimator"], _kind(m["value"]))
                for m in results["measurements"]
            }
        ),
        "verdicts": sorted({(v["variant"], v["suite"], v["name"]) for v in results["verdicts"]}),
        "gates": sorted({(g["gate"], g["variant"]) for g in results["gates"]["results"]}),
    }


def as_json(results: dict) -> dict:
    """:func:`shape` with tuples as lists, as it is stored in a JSON file."""
    return {k: [list(x) for x in v] if isinstance(v, list) else v for k, v in shape(results).items()}
