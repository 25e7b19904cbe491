"""The example release workflow (.github/workflows/release-gate.yml), run on this machine: its
matrix's "Measure and gate" and "Keep this run" steps as two jobs, each in a folder and build cache
of its own, then the merge job's "Merge the runs" step on what the jobs kept. Only the settings
that make it short come from outside the file (HARNESS_* and PYTEST_ADDOPTS, as a user's CI could
set them); the commands are the file's own."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "release-gate.yml"
pytestmark = pytest.mark.slow


def _step(job: dict, name: str) -> str:
    [step] = [s for s in job["steps"] if s.get("name") == name]
    return step["run"]


def _bash(script: str, cwd: Path, matrix: dict, env: dict) -> subprocess.CompletedProcess:
    """A step's script as GitHub would run it, with ${{ matrix.X }} filled in."""

    def fill(found: re.Match) -> str:
        expression = found[1].strip()
        assert expression.startswith("matrix."), f"the test knows only matrix values, not {expression!r}"
        return str(matrix[expression.removeprefix("matrix.")])

    filled = re.sub(r"\$\{\{(.*?)\}\}", fill, script)
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"  # the installed harness's python and pytest
    return subprocess.run(
        ["bash", "-eo", "pipefail", "-c", filled],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **env, "PATH": path},
    )


def _checkout(folder: Path) -> Path:
    """What actions/checkout gives a job, as links to this repository's files."""
    folder.mkdir(parents=True)
    for name in ("conftest.py", "pyproject.toml", "suites", "examples", "datasets"):
        (folder / name).symlink_to(REPO / name)
    return folder


def test_the_release_workflow_measures_each_matrix_entry_apart_and_merges_them(tmp_path):
    workflow = yaml.safe_load(WORKFLOW.read_text())
    measure, merge = workflow["jobs"]["measure"], workflow["jobs"]["merge"]
    assert merge["needs"] == "measure" and merge["if"] == "always()"
    entries = measure["strategy"]["matrix"]["include"]
    assert [e["name"] for e in entries] == ["cpu", "cuda"]
    quick = {
        "HARNESS_PROFILE": "quick",
        "HARNESS_PRECISIONS": "int4",
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "PYTEST_ADDOPTS": "-p no:cacheprovider -k 'latency or quality or gate'",
    }
    runs = _checkout(tmp_path / "merge") / "runs"
    for entry in entries:
        # This machine has only the CPU provider: the cuda entry's job runs on it too, as a second
        # runner of the same kind would, which is what the split must survive (a label per run).
        matrix = {**entry, "providers": "cpu"}
        job = _checkout(tmp_path / entry["name"])
        measured = _bash(_step(measure, "Measure and gate"), job, matrix, quick)
        assert measured.returncode == 0, measured.stdout[-3000:] + measured.stderr[-2000:]
        kept = _bash(_step(measure, "Keep this run"), job, matrix, quick)
        assert kept.returncode == 0, kept.stderr
        assert (job / ".harness-cache" / "builds").is_dir()  # each job builds in its own cache
        # actions/upload-artifact and download-artifact: run/ of job NAME lands in runs/run-NAME
        uploaded = next(s for s in measure["steps"] if s.get("uses", "").startswith("actions/upload-artifact"))
        assert uploaded["with"]["path"] == "run/"
        artifact = uploaded["with"]["name"].replace("${{ matrix.name }}", entry["name"])
        runs.mkdir(exist_ok=True)
        shutil.copytree(job / "run", runs / artifact)
        assert (runs / artifact / "results.json").is_file() and (runs / artifact / "junit.xml").is_file()
    merged = _bash(_step(merge, "Merge the runs"), runs.parent, {}, quick)
    assert merged.returncode == 0, merged.stdout[-2000:] + merged.stderr[-2000:]
    results = json.loads((runs.parent / "merged" / "results.json").read_text())
    sources = [json.loads((runs / f"run-{e['name']}" / "results.json").read_text()) for e in entries]
    assert results["run"]["merged_from"] == [s["run"]["id"] for s in sources]
    labels = [m["label"] for m in results["machines"]]
    assert len(set(labels)) == 2  # one machine twice: each run keeps a label of its own
    assert {v["id"] for v in results["variants"]} >= {f"int4-cpu@{label}" for label in labels}
    for label, source in zip(labels, sources):  # nothing pooled: each run's figures, under its label
        ours = sorted((m["name"], m["value"]) for m in results["measurements"] if m["machine"] == label)
        assert ours == sorted((m["name"], m["value"]) for m in source["measurements"])
    assert (runs.parent / "merged" / "report.md").is_file() and (runs.parent / "merged" / "report.html").is_file()
