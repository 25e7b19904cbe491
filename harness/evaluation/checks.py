"""The check registry: every check a record of an evaluation set may carry, defined once — its
name, what its value may be, how that value is validated, and how an answer is scored. Data
loading, scoring, the metric registry and the docs all read this table.

A pass/fail check gives a boolean per answer (reported as a share); a scored one gives a number
in [0, 1] (reported as a mean)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.evaluation.matching import exact_match, first_number, parse_json, rouge_l, schema_conforms

# parse(value, reference, base folder, schema cache) -> the value kept (raise ValueError to refuse)
Parse = Callable[[Any, "str | None", Path, dict], Any]
# score(answer, kept value, reference) -> bool (pass/fail) or float (scored)
Score = Callable[[str, Any, "str | None"], "bool | float"]


@dataclass(frozen=True)
class Check:
    name: str
    accepts: str  # what its value in a record may be (shown in errors and the docs)
    parse: Parse
    score: Score
    pass_fail: bool = True
    needs_reference: bool = False


def _flag(name: str) -> Parse:
    def parse(value, reference, base, schemas):
        if value is not True:
            raise ValueError(f"check {name!r}: expected true or false")
        return True

    return parse


def _contains(value, reference, base, schemas) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(s, str) and s for s in items):
        raise ValueError("check 'contains': expected a text or a list of texts")
    return items


def _regex(value, reference, base, schemas) -> str:
    try:
        re.compile(value)
    except (re.error, TypeError) as exc:
        raise ValueError(f"check 'regex': invalid pattern {value!r}: {exc}") from None
    return value


def _schema(value, reference, base: Path, schemas: dict) -> dict:
    from jsonschema import SchemaError
    from jsonschema.validators import validator_for

    if isinstance(value, str):
        if value not in schemas:
            file = (base / value) if not Path(value).is_absolute() else Path(value)
            try:
                schemas[value] = json.loads(file.read_text(encoding="utf-8"))
            except OSError as exc:
                raise ValueError(f"check 'json_schema': cannot read {file}: {exc.strerror}") from None
            except json.JSONDecodeError as exc:
                raise ValueError(f"check 'json_schema': {file} line {exc.lineno}: {exc.msg}") from None
        schema = schemas[value]
    elif isinstance(value, dict):
        schema = value
    else:
        raise ValueError("check 'json_schema': expected a schema object or a file path")
    try:
        validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        raise ValueError(f"check 'json_schema': not a valid JSON Schema: {exc.message}") from None
    return schema


def _numeric(value, reference, base, schemas) -> dict:
    spec = value if isinstance(value, dict) else {"tolerance": value}
    unknown = set(spec) - {"value", "tolerance"}
    if unknown:
        raise ValueError(f"check 'numeric': unknown key {', '.join(sorted(unknown))} (use value, tolerance)")
    tolerance = spec.get("tolerance", 0.0)
    if tolerance is None:
        tolerance = 0.0
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not tolerance >= 0:
        raise ValueError("check 'numeric': tolerance must be a number >= 0")
    expected = spec.get("value")
    if expected is None:
        found = first_number(reference or "")
        if found is None:
            raise ValueError("check 'numeric': no 'value' given and no number in the reference")
        expected = found
    if isinstance(expected, bool) or not isinstance(expected, (int, float)):
        raise ValueError("check 'numeric': value must be a number")
    return {"value": float(expected), "tolerance": float(tolerance)}


def _within(answer: str, spec: dict, reference) -> bool:
    found = first_number(answer)
    return found is not None and abs(found - spec["value"]) <= spec["tolerance"]


CHECKS: dict[str, Check] = {
    c.name: c
    for c in (
        Check(
            "exact_match",
            "true: the answer equals the reference (JSON compared as values, text normalised)",
            _flag("exact_match"),
            lambda answer, value, reference: exact_match(answer, reference),
            needs_reference=True,
        ),
        Check(
            "contains",
            "a text or a list of texts the answer must contain (case-insensitive)",
            _contains,
            lambda answer, items, reference: all(item.casefold() in answer.casefold() for item in items),
        ),
        Check(
            "regex",
            "a regular expression the answer must match somewhere (re.search)",
            _regex,
            lambda answer, pattern, reference: re.search(pattern, answer) is not None,
        ),
        Check(
            "json_valid",
            "true: the answer is valid JSON",
            _flag("json_valid"),
            lambda answer, value, reference: parse_json(answer)[0],
        ),
        Check(
            "json_schema",
            "a JSON Schema (object, or a path relative to the data file) the answer must conform to",
            _schema,
            lambda answer, schema, reference: schema_conforms(answer, schema),
        ),
        Check(
            "rouge_l",
            "true: ROUGE-L F1 of the answer against the reference (a score, not pass/fail)",
            _flag("rouge_l"),
            lambda answer, value, reference: rouge_l(answer, reference),
            pass_fail=False,
            needs_reference=True,
        ),
        Check(
            "numeric",
            "a tolerance, or {value, tolerance}: the answer's first number is within tolerance "
            "of value (default: the reference's first number)",
            _numeric,
            _within,
        ),
    )
}
DEFAULT_WITH_REFERENCE = ("exact_match", "rouge_l")  # a record with a reference and no checks
