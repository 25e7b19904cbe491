"""Running `pytest suites/` as a user does, in a subprocess, and reading what it wrote: the
helpers every end-to-end test file shares."""

import json
import os
import subprocess
import sys
from pathlib import Path

from harness.results.schema import problems as schema_problems

REPO = Path(__file__).resolve().parents[2]


def run_suites(*args, cwd=REPO, env=None, timeout=900):
    command = [sys.executable, "-m", "pytest", str(REPO / "suites"), "-p", "no:cacheprovider", *args]
    return subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "250", **(env or {})},
    )


def load(run_root: Path) -> dict:
    """A run's results.json, checked against the schema (harness/results/results.schema.json)."""
    results = json.loads((run_root / "latest" / "results.json").read_text())
    problems = schema_problems(results)
    assert not problems, f"results.json departs from its schema: {problems}"
    return results


def assert_every_miss_is_named(results: dict, stdout: str, at_least: int = 0) -> None:
    """Every verdict that missed is named, with its message, in the run's closing summary."""
    missed = [v for v in results["verdicts"] if not v["passed"]]
    assert len(missed) >= at_least, f"expected at least {at_least} missed verdicts: {results['verdicts']}"
    for verdict in missed:
        assert f"{verdict['variant']:<12} {verdict['name']}: {verdict['message']}" in stdout, verdict


def assert_one_line_error(result, message: str) -> None:
    """A user mistake: exit status 4, exactly one ERROR line, holding ``message``, no traceback."""
    output = result.stdout + result.stderr
    errors = [line for line in output.splitlines() if line.startswith("ERROR:")]
    assert result.returncode == 4 and len(errors) == 1, output[-2000:]
    assert message in errors[0], errors[0]
    assert "Traceback" not in output
