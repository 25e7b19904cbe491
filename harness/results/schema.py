"""The JSON Schema of results.json (``results.schema.json`` beside this module), and a check of a
results file against it that names the first field out of place."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import jsonschema

SCHEMA_FILE = Path(__file__).with_name("results.schema.json")


@lru_cache(maxsize=1)
def schema() -> dict:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def problems(results: dict, limit: int = 10) -> list[str]:
    """Where ``results`` departs from the schema: one line per error (path: message), at most ``limit``."""
    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(results), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(top level)'}: {e.message}" for e in errors[:limit]]
