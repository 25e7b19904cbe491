"""One record of an evaluation set: its messages, its reference answer and the checks it carries, validated with one-
line errors that name the file and line."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.evaluation.checks import CHECKS, DEFAULT_WITH_REFERENCE

ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class Example:
    id: str
    messages: tuple[dict, ...]
    reference: str | None = None
    checks: dict = field(default_factory=dict, compare=False)
    where: str = field(default="", compare=False)  # FILE:LINE (or FILE: row N) of the record, for messages


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
    if (
        not isinstance(messages, list)
        or not messages
        or not all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
            for m in messages
        )
    ):
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
        return dict.fromkeys(DEFAULT_WITH_REFERENCE, True) if reference is not None else {}
    raw = _maybe_json(raw, "checks")
    if not isinstance(raw, dict):
        raise ValueError("'checks' must be an object, e.g. {\"exact_match\": true}")
    checks: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in CHECKS:
            raise ValueError(f"unknown check {name!r} (known: {', '.join(CHECKS)})")
        if value is None or value is False:
            continue  # not applied
        checks[name] = CHECKS[name].parse(value, reference, base, schemas)
    needing = [name for name in checks if CHECKS[name].needs_reference]
    if needing and reference is None:
        raise ValueError(
            f"check{'s' if len(needing) > 1 else ''} {' and '.join(map(repr, needing))} "
            f"need{'' if len(needing) > 1 else 's'} a 'reference'"
        )
    return checks


def _example(row: dict, index: int, path: Path, schemas: dict) -> Example:
    identifier = row.get("id")
    reference = _reference(row.get("reference"))
    return Example(
        id=str(identifier) if identifier not in (None, "") else f"{path.stem}-{index + 1}",
        messages=_messages(row),
        reference=reference,
        checks=_checks(row.get("checks"), reference, path.parent if path.is_file() else path, schemas),
    )
