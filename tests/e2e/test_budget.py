"""The plan before the work, and a run fitted to a budget, on the embedded model."""

import pytest
from suites_run import assert_one_line_error, load, run_suites

pytestmark = pytest.mark.slow


def test_a_budget_fits_the_sizes_before_the_first_test_and_says_what_it_traded(tmp_path, build_cache):
    """A budget of 1.2 s, which even the quick profile's sizes exceed on any machine: every size
    goes to the quick profile's and the run says so (shares between are tests/unit/test_plan.py's)."""
    reports = tmp_path / "reports"
    result = run_suites(
        "--benchmark",
        "--precisions",
        "fp32,int4",
        "--budget",
        "0.02",
        "-k",
        "latency or soak or input_length",
        "--reports-dir",
        str(reports),
        "--cache-dir",
        str(build_cache),
    )
    assert result.returncode == 0, result.stdout[-3000:]
    results = load(reports)
    budget = results["run"]["budget"]
    assert budget["minutes"] == 0.02 and budget["variants"] == 2
    assert budget["share"] == 0 and budget["fitted_seconds"] < budget["planned_seconds"]
    repetitions = budget["changed"]["profile.repetitions"]
    iterations = budget["changed"]["soak.iterations"]
    assert repetitions == [64, 24] and iterations == [300, 120]  # the quick profile's
    # the suites measured at the fitted sizes, not the profile's
    for m in results["measurements"]:
        if m["suite"] == "latency" and m["name"] == "decode_tps":
            assert m["stats"]["n"] <= repetitions[1]
        if m["name"].startswith("leak_kib_per_iter_"):
            assert len(m["samples"]) <= iterations[1]
    # said before the first test, and in the report
    lines = result.stdout.splitlines()
    said = next(i for i, line in enumerate(lines) if line.startswith("[harness] budget 0.02 min: "))
    assert said < next(i for i, line in enumerate(lines) if line.startswith("suites/"))
    assert any(line.startswith("[harness]   traded: soak: ") for line in lines)
    assert any(
        "the quick profile's sizes are the least the harness runs, and still exceed the budget" in line
        for line in lines
    )
    assert "Budget 0.02 min: " in (reports / "latest" / "report.md").read_text()
    # each variant's plan was printed and kept
    for variant in results["variants"]:
        assert set(variant["estimate"]["seconds"]) == {"latency", "soak", "input_length"}


def test_a_budget_is_not_divided_among_xdist_workers():
    assert_one_line_error(run_suites("--budget", "5", "-n", "2"), "--budget fits one process's run")
