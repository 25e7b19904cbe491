"""Evaluation sets: JSONL, CSV, Parquet or a folder saved by ``datasets``, read with the
``datasets`` library and checked record by record, with errors that name the file and line.

A record (see docs/guides/evaluation-data.md) holds:

- ``id``: any text (default: ``<file stem>-<row>``);
- the prompt: ``messages`` (a list of ``{role, content}`` ending with a user turn) or ``prompt``
  (plain text, sent as one user turn, after ``system`` when that is given). In CSV, ``messages``
  is a JSON string;
- ``reference``: the expected answer (optional; a JSON value is kept as its JSON text);
- ``checks``: the checks that apply (an object, or its JSON text), see :data:`harness.evaluation.checks.CHECKS`. A
record
  without ``checks`` gets ``exact_match`` and ``rouge_l`` when it has a reference.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.common.hashing import tree_sha256
from harness.common.shipped import shipped_set
from harness.errors import HarnessError
from harness.evaluation.records import Example, _example

FORMATS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
SPLIT_PREFERENCE = ("test", "heldout", "eval", "validation")  # a folder with several files


@dataclass(frozen=True)
class EvalSet:
    """A loaded evaluation set and where it came from."""

    path: Path  # the file or folder read
    format: str  # json | csv | parquet | arrow (a folder saved by datasets)
    sha256: str  # content hash of the file (or of every file in the folder)
    examples: list[Example]

    @property
    def name(self) -> str:
        return self.path.parent.name if self.path.is_file() else self.path.name

    def to_record(self, used: int | None = None) -> dict:
        """What results.json says of the set; ``checks`` counts the used records that carry each
        check (and a ``reference``): a gate on a check no record carries is not applicable."""
        used = len(self.examples) if used is None else used
        checks: dict[str, int] = {}
        for example in self.examples[:used]:
            for name in example.checks:
                checks[name] = checks.get(name, 0) + 1
            if any(name != "rouge_l" for name in example.checks):  # a pass/fail check: all_checks
                checks["all_checks"] = checks.get("all_checks", 0) + 1
            if example.reference is not None:
                checks["reference"] = checks.get("reference", 0) + 1
        return {
            "name": self.name,
            "path": str(self.path),
            "format": self.format,
            "sha256": self.sha256,
            "records": len(self.examples),
            "used": used,
            "checks": checks,
        }


# ---------------------------------------------------------------------------------------------
# Finding and reading the data


def locate(spec: Path) -> tuple[Path, str]:
    """The file or saved folder ``spec`` names, and its format. A bare name is looked up in
    ``datasets/``; a folder of data files gives its test/heldout/eval/validation split."""
    path = Path(spec)
    if not path.exists():
        path = shipped_set(path) or path
    if not path.exists():
        raise HarnessError(f"dataset {spec}: no such file or folder")
    if path.is_dir():
        if (path / "dataset_info.json").is_file() or (path / "dataset_dict.json").is_file():
            return path, "arrow"
        files = sorted(p for p in path.iterdir() if p.suffix in FORMATS and p.is_file())
        if len(files) > 1:
            by_stem = {p.stem: p for p in files}
            chosen = next((by_stem[s] for s in SPLIT_PREFERENCE if s in by_stem), None)
            if chosen is None:
                raise HarnessError(
                    f"dataset {path}: several data files ({', '.join(p.name for p in files)}); "
                    f"name one, or call it one of {', '.join(SPLIT_PREFERENCE)}"
                )
            files = [chosen]
        if not files:
            raise HarnessError(
                f"dataset {path}: no data file ({', '.join(FORMATS)}) and not a folder saved by datasets"
            )
        path = files[0]
    if path.suffix not in FORMATS:
        raise HarnessError(
            f"dataset {path}: unknown format '{path.suffix}' (use {', '.join(FORMATS)} or a folder saved by datasets)"
        )
    return path, FORMATS[path.suffix]


def _utf8_text(path: Path) -> str:
    """A text data file's content; bytes that are not UTF-8 stop with the line and column."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise HarnessError(
            f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x} at column {column}); save the file as UTF-8"
        ) from None


def _lone_surrogate(value: Any, field: str = "") -> str | None:
    """The field of a parsed JSON value whose text holds a lone UTF-16 surrogate (``\\ud800``
    escaped alone: valid JSON, not Unicode text), or None."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            return (
                f"'{field}' holds a lone UTF-16 surrogate (\\u{ord(value[exc.start]):04x} at character {exc.start + 1})"
            )
        return None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = _lone_surrogate(item, f"{field}.{key}" if field else str(key))
        if found:
            return found
    return None


def _check_json_records(path: Path, text: str) -> None:
    """A ``.json`` array's records hold Unicode text (the reader would drop a lone surrogate
    without a word); a file that is not one JSON array is left to the reader."""
    try:
        records = json.loads(text)
    except json.JSONDecodeError:
        return
    for number, record in enumerate(records if isinstance(records, list) else [], start=1):
        surrogate = _lone_surrogate(record)
        if surrogate:
            raise HarnessError(f"{path}: record {number}: {surrogate}: not valid Unicode text")


def _json_lines(path: Path) -> list[int]:
    """Line numbers of the non-blank lines of a JSONL file (row i is on line result[i]); raises
    naming the first line that is not UTF-8, not JSON, or not Unicode text."""
    numbers = []
    for number, line in enumerate(_utf8_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise HarnessError(f"{path}:{number}: malformed JSON: {exc.msg}") from None
        if not isinstance(record, dict):
            raise HarnessError(f"{path}:{number}: expected a JSON object (one record per line)")
        surrogate = _lone_surrogate(record)
        if surrogate:
            raise HarnessError(f"{path}:{number}: {surrogate}: not valid Unicode text")
        numbers.append(number)
    return numbers


def _read_rows(path: Path, kind: str) -> list[dict]:
    import datasets

    datasets.disable_progress_bars()
    logging.getLogger("datasets").setLevel(logging.ERROR)
    try:
        if kind == "arrow":
            table = datasets.load_from_disk(str(path))
            if isinstance(table, datasets.DatasetDict):
                split = next((s for s in SPLIT_PREFERENCE if s in table), None)
                if split is None:
                    raise HarnessError(
                        f"dataset {path}: splits {', '.join(table)}; expected one of {', '.join(SPLIT_PREFERENCE)}"
                    )
                table = table[split]
        else:
            reader = {
                "json": datasets.Dataset.from_json,
                "csv": datasets.Dataset.from_csv,
                "parquet": datasets.Dataset.from_parquet,
            }[kind]
            table = reader(str(path), keep_in_memory=True)
    except HarnessError:
        raise
    except Exception as exc:
        cause = exc.__cause__ or exc
        reason = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        raise HarnessError(f"dataset {path}: cannot read it as {kind}: {reason}") from None
    return table.to_list()


def load_examples(spec: Path) -> EvalSet:
    """Read and check an evaluation set; any bad record stops with its file and line (or row)."""
    path, kind = locate(spec)
    if kind in ("json", "csv"):
        text = _utf8_text(path)  # a byte that is not UTF-8 is named by line, before the reader sees it
        if path.suffix == ".json":
            _check_json_records(path, text)
    lines = _json_lines(path) if kind == "json" and path.suffix == ".jsonl" else None
    if lines == [] or (path.is_file() and not path.read_bytes().strip()):
        raise HarnessError(f"dataset {path}: no records")
    rows = _read_rows(path, kind)
    examples = []
    seen: dict[str, str] = {}
    schemas: dict[str, Any] = {}
    for index, row in enumerate(rows):
        where = f"{path}:{lines[index]}" if lines else f"{path}: row {index + 1}"
        try:
            example = _example(row, index, path, schemas)
        except ValueError as exc:
            raise HarnessError(f"{where}: {exc}") from None
        if example.id in seen:
            raise HarnessError(f"{where}: id {example.id!r} repeats an earlier record ({seen[example.id]})")
        seen[example.id] = where
        examples.append(replace(example, where=where))
    if not examples:
        raise HarnessError(f"dataset {path}: no records")
    return EvalSet(path=path, format=kind, sha256=tree_sha256(path), examples=examples)


# ---------------------------------------------------------------------------------------------
# One record
