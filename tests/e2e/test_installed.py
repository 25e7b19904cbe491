"""The harness as a user's project installs it: a wheel (not an editable checkout), its plugin
registered by its entry point, its suites, data sets and embedded model as package data, run from
an empty folder that holds nothing of this repository."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_a_wheel_runs_the_suites_from_an_empty_folder(tmp_path, build_cache):
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            str(REPO),
            "-w",
            str(wheels),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    [wheel] = wheels.glob("*.whl")
    site = tmp_path / "site"  # the wheel alone; its dependencies are this environment's
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr[-2000:]
    empty = tmp_path / "project"
    empty.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "HARNESS_CACHE_DIR": str(build_cache)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--pyargs",
            "harness.suites",
            "--profile",
            "quick",
            "--precisions",
            "int4",
            "-k",
            "smoke or quality",
            "-p",
            "no:cacheprovider",
        ],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "PytestUnknownMarkWarning" not in result.stdout  # the plugin registers the suites' markers
    results = json.loads((empty / "reports" / "latest" / "results.json").read_text())
    assert results["datasets"][0]["path"].startswith(str(site / "harness" / "data"))
    assert results["model"]["path"].startswith(str(site / "harness" / "models" / "embedded"))
    assert {v["id"]: v["status"] for v in results["variants"]} == {"int4-cpu": "passed"}
    assert (empty / "reports" / "latest" / "report.html").is_file()
