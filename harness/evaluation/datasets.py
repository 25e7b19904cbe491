"""Evaluation sets: JSONL, CSV, Parquet or a folder saved by ``datasets``, read with the
``datasets`` library and checked record by record, with errors that name the file and line.

A record (see README, *Evaluation data*) holds:

- ``id``: any text (default: ``<file stem>-<row>``);
- the prompt: ``messages`` (a list of ``{role, content}`` ending with a user turn) or ``prompt``
  (plain text, sent as one user turn, after ``system`` when that is given). In CSV, ``messages``
  is a JSON string;
- ``reference``: the expected answer (optional; a JSON value is kept as its JSON text);
- ``checks``: the checks that apply (an object, or its JSON text), see :data:`CHECKS`. A record
  without ``checks`` gets ``exact_match`` and ``rouge_l`` when it has a reference.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.common.hashing import update_from_file
from harness.errors import HarnessError

DATASETS_DIR = Path(__file__).resolve().parents[2] / "datasets"
FORMATS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
SPLIT_PREFERENCE = ("test", "heldout", "eval", "validation")  # a folder with several files
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
        return {"name": self.name, "path": str(self.path), "format": self.format, "sha256": self.sha256,
                "records": len(self.examples), "used": used, "checks": checks}


# ---------------------------------------------------------------------------------------------
# Finding and reading the data


def shipped_set(name: Path) -> Path | None:
    """The folder in the project's ``datasets/`` that a bare name means, if there is one."""
    return DATASETS_DIR / name if len(name.parts) == 1 and (DATASETS_DIR / name).is_dir() else None


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
                raise HarnessError(f"dataset {path}: several data files ({', '.join(p.name for p in files)}); "
                                   f"name one, or call it one of {', '.join(SPLIT_PREFERENCE)}")
            files = [chosen]
        if not files:
            raise HarnessError(f"dataset {path}: no data file ({', '.join(FORMATS)}) and not a folder "
                               f"saved by datasets")
        path = files[0]
    if path.suffix not in FORMATS:
        raise HarnessError(f"dataset {path}: unknown format '{path.suffix}' (use {', '.join(FORMATS)} "
                           f"or a folder saved by datasets)")
    return path, FORMATS[path.suffix]


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        update_from_file(digest, file)
    return digest.hexdigest()


def _json_lines(path: Path) -> list[int]:
    """Line numbers of the non-blank lines of a JSONL file (row i is on line result[i]); raises
    naming the first line that is not JSON."""
    numbers = []
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise HarnessError(f"{path}:{number}: malformed JSON: {exc.msg}") from None
            if not isinstance(record, dict):
                raise HarnessError(f"{path}:{number}: expected a JSON object (one record per line)")
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
                    raise HarnessError(f"dataset {path}: splits {', '.join(table)}; expected one of "
                                       f"{', '.join(SPLIT_PREFERENCE)}")
                table = table[split]
        else:
            reader = {"json": datasets.Dataset.from_json, "csv": datasets.Dataset.from_csv,
                      "parquet": datasets.Dataset.from_parquet}[kind]
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
        examples.append(example)
    if not examples:
        raise HarnessError(f"dataset {path}: no records")
    return EvalSet(path=path, format=kind, sha256=content_hash(path), examples=examples)


# ---------------------------------------------------------------------------------------------
# One record


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
