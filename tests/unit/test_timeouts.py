"""The harness's own tests have a time limit: a hung test fails with its name (tests/conftest.py)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]

HUNG = """
import time


def test_that_hangs():
    time.sleep(600)


def test_after_it():
    pass
"""


def test_a_hung_test_fails_with_its_name_and_the_run_goes_on(tmp_path):
    # the tests' own conftest, in a copy of the tests folder that holds one test that hangs
    copy = tmp_path / "tests"
    copy.mkdir()
    for name in ("conftest.py", "tiny_models.py"):
        shutil.copy(TESTS / name, copy / name)
    (copy / "test_hung.py").write_text(HUNG)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(copy), "-p", "no:cacheprovider", "-q", "--rootdir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "HARNESS_TEST_TIMEOUT": "2"},
    )
    assert result.returncode == 1, result.stdout[-2000:]
    assert "Failed: Timeout (>2.0s) from pytest-timeout" in result.stdout, result.stdout[-2000:]
    assert "FAILED tests/test_hung.py::test_that_hangs" in result.stdout
    assert "1 failed, 1 passed" in result.stdout
