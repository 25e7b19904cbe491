"""The tree passes ruff's lint and is as ruff formats it ([tool.ruff] in pyproject.toml);
tools/run-tests installs ruff (the ``test`` extra), so the README's test command checks both."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

needs_ruff = pytest.mark.skipif(
    importlib.util.find_spec("ruff") is None,
    reason="ruff is not installed: pip install -e '.[test]' (tools/run-tests does)",
)


def _ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--no-cache", str(REPO)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )


@needs_ruff
def test_ruff_finds_nothing():
    result = _ruff("check", "--output-format", "concise")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-1000:]


@needs_ruff
def test_the_tree_is_as_ruff_formats_it():
    result = _ruff("format", "--check")
    assert result.returncode == 0, (
        "run `ruff format .`; files it would change:\n" + result.stdout[-3000:] + result.stderr[-1000:]
    )
