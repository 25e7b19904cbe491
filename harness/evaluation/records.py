"""One record of an evaluation set: its messages, its reference answer and the checks it carries, validated with one-line errors that name the file and line."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROLES = ("system", "user", "assistant")

# check name -> what its value may be (the README's "Checks" table says the same)
CHECKS = {
    "exact_match": "true: the answer equals the reference (JSON compared as values, text normalised)",
    "contains": "a text or a list of texts the answer must contain (case-insensitive)",
    "regex": "a regular expression the answer must match somewhere (re.search)",
    "json_valid": "true: the answer is valid JSON",
    "json_schema": "a JSON Schema (object, or a path relative to the data file) the answer must conform to",
    "rouge_l": "true: ROUGE-L F1 of the answer against the reference (a score, not pass/fail)",
    "numeric": "a tolerance, or {value, tolerance}: the answer's first number is within tolerance "
               "of value (default: the reference's first number)",
}
NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")

@dataclass(frozen=True)
class Example:
    id: str
    messages: tuple[dict, ...]
    reference: str | None = None
    checks: dict = field(default_factory=dict, compare=False)

def _maybe_json(value: Any, what: str) -> Any:
    if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"'{what}' is not valid JSON: {exc.msg}") from None
    return value


def _messages(row: dict) -> tuple[dict, ...]:
    messages, prompt = row.get("messages"), row.get("prompt")
    if messages is not None and prompt is not None:
        raise ValueError("give 'messages' or 'prompt', not both")
    if messages is None:
        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError("expected 'messages' (a list of {role, content}) or 'prompt' (text)")
        system = row.get("system")
        turns = [{"role": "system", "content": system}] if isinstance(system, str) and system else []
        return tuple(turns + [{"role": "user", "content": prompt}])
    messages = _maybe_json(messages, "messages")
    if not isinstance(messages, list) or not messages or not all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
            for m in messages):
        raise ValueError("expected 'messages', a list of {role, content}")
    roles = {m["role"] for m in messages} - set(ROLES)
    if roles:
        raise ValueError(f"unknown role {', '.join(map(repr, sorted(roles)))} (use {', '.join(ROLES)})")
    if messages[-1]["role"] != "user":
        raise ValueError("the last message must be the user's (the model answers it)")
    return tuple({"role": m["role"], "content": m["content"]} for m in messages)


def _reference(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and math.isnan(value):  # an empty CSV cell
        return None
    return json.dumps(value)


def _checks(raw: Any, reference: str | None, base: Path, schemas: dict) -> dict:
    if raw is None or (isinstance(raw, float) and math.isnan(raw)) or raw == "":
        return {"exact_match": True, "rouge_l": True} if reference is not None else {}
    raw = _maybe_json(raw, "checks")
    if not isinstance(raw, dict):
        raise ValueError("'checks' must be an object, e.g. {\"exact_match\": true}")
    checks: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in CHECKS:
            raise ValueError(f"unknown check {name!r} (known: {', '.join(CHECKS)})")
        if value is None or value is False:
            continue  # not applied
        if name in ("exact_match", "json_valid", "rouge_l"):
            if value is not True:
                raise ValueError(f"check {name!r}: expected true or false")
            checks[name] = True
        elif name == "contains":
            items = [value] if isinstance(value, str) else value
            if not isinstance(items, list) or not items or not all(isinstance(s, str) and s for s in items):
                raise ValueError("check 'contains': expected a text or a list of texts")
            checks[name] = items
        elif name == "regex":
            try:
                re.compile(value)
            except (re.error, TypeError) as exc:
                raise ValueError(f"check 'regex': invalid pattern {value!r}: {exc}") from None
            checks[name] = value
        elif name == "json_schema":
            checks[name] = _schema(value, base, schemas)
        elif name == "numeric":
            checks[name] = _numeric(value, reference)
    if {"exact_match", "rouge_l"} & set(checks) and reference is None:
        raise ValueError("checks 'exact_match' and 'rouge_l' need a 'reference'")
    return checks


def _schema(value: Any, base: Path, schemas: dict) -> dict:
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


def _numeric(value: Any, reference: str | None) -> dict:
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


def first_number(text: str) -> float | None:
    """The first number written in ``text`` (a sign counts unless it joins a word: ORD-123 is 123)."""
    match = NUMBER.search(text)
    return float(match.group()) if match else None


def _example(row: dict, index: int, path: Path, schemas: dict) -> Example:
    identifier = row.get("id")
    reference = _reference(row.get("reference"))
    return Example(
        id=str(identifier) if identifier not in (None, "") else f"{path.stem}-{index + 1}",
        messages=_messages(row),
        reference=reference,
        checks=_checks(row.get("checks"), reference, path.parent if path.is_file() else path, schemas),
    )
