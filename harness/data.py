"""Evaluation records from JSONL files, with errors that name the file and line."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .errors import HarnessError

DATASETS_DIR = Path(__file__).resolve().parents[1] / "datasets"


@dataclass(frozen=True)
class Example:
    id: str
    messages: tuple[dict, ...]
    reference: str | None = None


def load_jsonl(path: Path, limit: int | None = None) -> list[Example]:
    """Read chat examples (``id``, ``messages``, optional ``reference``) from a JSONL file."""
    examples: list[Example] = []
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise HarnessError(f"cannot read dataset {path}: {exc.strerror}") from None
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise HarnessError(f"{path}:{number}: malformed JSON: {exc.msg}") from None
            messages = record.get("messages") if isinstance(record, dict) else None
            if not isinstance(messages, list) or not all(
                    isinstance(m, dict) and "role" in m and "content" in m for m in messages):
                raise HarnessError(f"{path}:{number}: expected 'messages', a list of {{role, content}}")
            examples.append(Example(id=str(record.get("id", f"line-{number}")),
                                    messages=tuple(messages), reference=record.get("reference")))
            if limit is not None and len(examples) >= limit:
                break
    return examples
