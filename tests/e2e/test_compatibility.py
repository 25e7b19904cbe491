"""Which builder release's graphs load and answer in which runtime release, measured: the embedded
model built by the 0.18.0 and the 0.14.1 builders, each graph answered in the 0.18.0 and the 0.14.1
runtimes. docs/compatibility.md must hold exactly the table this measures."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.run import compatibility

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
START, END = "<!-- compatibility matrix: python -m harness compatibility -->", "<!-- end of the matrix -->"


@pytest.fixture(scope="module")
def matrix(build_cache, tmp_path_factory, olive_python):
    out = tmp_path_factory.mktemp("compatibility") / "cells.json"
    result = subprocess.run(
        [sys.executable, "-m", "harness", "compatibility", "--cache-dir", str(build_cache), "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(out.read_text()), result.stdout


def test_both_builders_graphs_answer_in_both_runtimes(matrix):
    cells = {(c["builder"], c["precision"], c["runtime"]): c for c in matrix[0]["cells"]}
    for builder in ("0.18.0", "0.14.1"):
        for precision in ("fp32", "int4"):
            for runtime in ("0.18.0", "0.14.1"):
                cell = cells[(builder, precision, runtime)]
                assert cell["status"] == "answers" and cell["answered"] == cell["prompts"] == compatibility.PROMPTS, (
                    cell
                )
    # the other release gives the same greedy tokens as the builder's own
    assert cells[("0.18.0", "int4", "0.14.1")]["same_as_builders_runtime"] == compatibility.PROMPTS
    assert cells[("0.14.1", "int4", "0.18.0")]["same_as_builders_runtime"] == compatibility.PROMPTS
    # 0.14.1's builder has no -p int8: said, not tried
    assert cells[("0.14.1", "int8", None)]["status"] == "not offered"


def test_the_compatibility_page_is_what_was_measured(matrix):
    page = (REPO / "docs" / "compatibility.md").read_text()
    assert START in page and END in page, "docs/compatibility.md lost its matrix markers"
    documented = page.split(START, 1)[1].split(END, 1)[0].strip()
    measured = compatibility.render(matrix[0]).strip()
    assert documented == measured, f"docs/compatibility.md's matrix differs from the measured one:\n{measured}"
    assert matrix[1].strip() == measured  # the command prints the same table


def test_a_malformed_runtime_release_is_one_line():
    result = subprocess.run(
        [sys.executable, "-m", "harness", "compatibility", "--runtimes", "0.18"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "error: option --runtimes: '0.18' is not an onnxruntime-genai version (like 0.14.1)"


def test_a_graph_that_does_not_load_is_a_cell_not_a_crash(matrix, build_cache, tmp_path):
    """A runtime that cannot load a graph gives the cell its one-line reason; the matrix goes on."""
    broken = tmp_path / "broken"
    built = next((build_cache / "compatibility").glob("support-tickets-int4-builder0.18.0-*/"))
    broken.mkdir()
    for path in built.iterdir():
        if path.is_file():
            (broken / path.name).write_bytes(path.read_bytes())
    (broken / "model.onnx").write_bytes(b"not an onnx graph")
    cell = compatibility.answer(broken, "0.18.0", "0.18.0", ["hello"], build_cache)
    assert cell["loaded"] is False and cell["answers"] == []
    assert cell["error"].startswith("does not load: ") and "\n" not in cell["error"]
    rendered = compatibility.render(
        {
            "runtimes": ["0.18.0"],
            "cells": [
                {
                    "builder": "0.18.0",
                    "precision": "int4",
                    "runtime": "0.18.0",
                    "status": "fails",
                    "note": cell["error"],
                    "answered": 0,
                    "prompts": 1,
                    "same_as_builders_runtime": None,
                }
            ],
        }
    )
    assert f"| 0.18.0 | int4 | {cell['error']} |" in rendered
