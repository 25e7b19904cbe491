"""``results.json``: the source of truth of a run, written atomically as results arrive.

Schema (``schema_version`` 2; the JSON Schema is ``harness/results/results.schema.json``)::

    run           id, started_at, ended_at, complete, command, settings (value and source of each)
    environment   CPU, cores, memory, OS, Python, package versions, machine fingerprint
    model         the model source and its content hash
    variants      one record per planned variant: id, precision, provider, builder, status,
                  reason, size_bytes, weights_bytes, build_seconds, build_peak_rss_bytes, cached,
                  quantization (read from the graph), toolchain, load_s, tests {name: outcome}
    measurements  records: variant, suite, name, unit, value, samples, ... (see harness.measure.records)
    verdicts      records: variant, name, passed, message
    datasets      the evaluation set: name, path, format, sha256 (content hash), records, used
    prompt_format how prompts were formatted: chat_template | foundry_prompt_template | plain
    answers       per variant and example: the answer, finish reason, tokens and every check's score
    gates         origin, definitions, baseline run id, results (gate, variant, status, message, ...)

Variant ``status``: ``unsupported`` (cannot run here; ``reason`` says why), ``pending`` (planned,
nothing ran yet), ``passed`` / ``failed`` (its tests), ``build_failed``, ``crashed`` (its worker
died), ``skipped``, ``not_run`` (the run ended before it was reached). A run folder is never
reused: a later run never overwrites an earlier one.
History: 1 = first version; 2 = datasets, prompt_format, reference_precision, answers, gates.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from harness.common.clock import compact_stamp, now_iso
from harness.common.files import write_json_atomic
from harness.errors import HarnessError

SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)
STATUS_ORDER = ("crashed", "build_failed", "failed", "passed", "skipped", "pending", "unsupported")


def new_run_dir(reports_dir: Path) -> Path:
    """Create ``reports_dir/<run-id>`` exclusively (never an existing folder)."""
    try:
        reports_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HarnessError(f"cannot create the reports folder {reports_dir}: {exc.strerror}") from None
    if not os.access(reports_dir, os.W_OK):
        raise HarnessError(f"the reports folder {reports_dir} is not writable (option --reports-dir)")
    for _ in range(20):
        run_id = compact_stamp() + "-" + secrets.token_hex(2)
        path = reports_dir / run_id
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
        except OSError as exc:
            raise HarnessError(f"cannot create a run folder in {reports_dir}: {exc.strerror}") from None
    raise HarnessError(f"could not create a new run folder in {reports_dir}")


def point_latest(run_dir: Path) -> None:
    """Make ``reports/latest`` point at ``run_dir`` (replaced atomically)."""
    link = run_dir.parent / "latest"
    tmp = run_dir.parent / f".latest-{secrets.token_hex(4)}"
    try:
        os.symlink(run_dir.name, tmp)
        os.replace(tmp, link)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise HarnessError(f"cannot point {link} at {run_dir.name}: {exc.strerror}") from None


class ResultsStore:
    """Holds one run's results in memory and rewrites ``results.json`` after every change.

    A rewrite that fails (a full disk) leaves the last complete file in place and is tried again
    at the next change; ``save_error`` says what failed until a rewrite succeeds."""

    def __init__(
        self, run_dir: Path, *, run: dict, environment: dict, model: dict | None, evaluation: dict | None = None
    ) -> None:
        self.run_dir = run_dir
        self.path = run_dir / "results.json"
        self.data: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "run": {"id": run_dir.name, "complete": False, "ended_at": None, **run},
            "environment": environment,
            "model": model,
            "variants": [],
            "measurements": [],
            "verdicts": [],
            "answers": [],
            **(evaluation or {}),
        }
        self._variants: dict[str, dict] = {}
        self.save_error: str | None = None
        self.save()

    # -- variants ------------------------------------------------------------------------------
    def add_variant(self, record: dict) -> None:
        if record["id"] in self._variants:
            self._variants[record["id"]].update(record)
        else:
            entry = {"status": "pending", "reason": "", "tests": {}, **record}
            self._variants[record["id"]] = entry
            self.data["variants"].append(entry)
        self.save()

    def update_variant(self, variant_id: str, **fields: Any) -> None:
        entry = self._variants.setdefault(variant_id, {"id": variant_id, "status": "pending", "tests": {}})
        if entry not in self.data["variants"]:
            self.data["variants"].append(entry)
        entry.update(fields)
        self.save()

    def record_test(self, variant_id: str, test: str, outcome: str, message: str = "") -> None:
        """Record one test's outcome and fold it into the variant's status."""
        entry = self._variants.get(variant_id)
        if entry is None:
            return
        entry["tests"][test] = outcome
        if message and outcome == "failed" and not entry.get("error"):
            entry["error"] = message
        if entry["status"] in ("crashed", "build_failed"):
            pass  # the worst news stays
        elif outcome == "failed":
            entry["status"] = "failed"
        elif outcome == "passed" and entry["status"] in ("pending", "skipped", "unsupported"):
            entry["status"] = "passed"
        elif outcome == "skipped" and entry["status"] == "pending":
            entry["status"] = "skipped"
        self.save()

    def add_seconds(self, variant_id: str, test: str, seconds: float) -> None:
        """Add a phase of one test's wall-clock time to the variant's record (written with the
        next change)."""
        entry = self._variants.get(variant_id)
        if entry is not None:
            spent = entry.setdefault("seconds", {})
            spent[test] = round(spent.get(test, 0.0) + seconds, 3)

    def variant(self, variant_id: str) -> dict | None:
        return self._variants.get(variant_id)

    # -- measurements and verdicts ------------------------------------------------------------
    def add_measurement(self, record: dict) -> None:
        self.data["measurements"].append(record)
        self.save()

    def add_verdict(self, record: dict) -> None:
        self.data["verdicts"].append(record)
        self.save()

    def add_answers(self, variant: str, answers: list[dict]) -> None:
        self.data["answers"].extend({"variant": variant, **a} for a in answers)
        self.save()

    def add_gate_result(self, record: dict) -> None:
        gates = self.data.setdefault("gates", {"origin": None, "definitions": [], "results": []})
        gates["results"].append(record)
        self.save()

    # -- run -----------------------------------------------------------------------------------
    def finish(self, *, complete: bool, exit_status: int | None = None) -> None:
        """End the run: a variant still pending was never reached (``not_run``)."""
        for entry in self.data["variants"]:
            if entry.get("status") == "pending":
                entry["status"] = "not_run"
        self.data["run"]["ended_at"] = now_iso()
        self.data["run"]["complete"] = complete
        self.data["run"]["exit_status"] = exit_status
        self.save()

    def save(self) -> None:
        try:
            write_json_atomic(self.path, self.data)
        except HarnessError as exc:
            self.save_error = str(exc)
        else:
            self.save_error = None


def load_results(path: Path) -> dict:
    """Read a results.json (or a run folder), checking its schema version."""
    if path.is_dir():
        path = path / "results.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HarnessError(f"no results.json at {path}") from None
    except json.JSONDecodeError as exc:
        raise HarnessError(f"{path}: corrupt JSON at line {exc.lineno}: {exc.msg}") from None
    version = data.get("schema_version") if isinstance(data, dict) else None
    if version not in READABLE_VERSIONS:
        raise HarnessError(
            f"{path}: schema_version {version!r} is not supported (readable: {', '.join(map(str, READABLE_VERSIONS))})"
        )
    return data
