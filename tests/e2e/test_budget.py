"""The plan before the work, and a run fitted to a budget, on the embedded model."""

import pytest
from suites_run import assert_one_line_error, load, run_suites

pytestmark = pytest.mark.slow


def test_a_budget_fits_the_sizes_before_the_first_test_and_says_what_it_traded(tmp_path, build_cache):
    reports = tmp_path / "reports"
    result = run_suites(
        "--benchmark",
        "--precisions",
        "fp32,int4",
        "--budget",
        "0.1",
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
    assert budget["minutes"] == 0.1 and budget["variants"] == 2
    assert 0 <= budget["share"] < 1 and budget["fitted_seconds"] < budget["planned_seconds"]
    repetitions = budget["changed"]["profile.repetitions"]
    iterations = budget["changed"]["soak.iterations"]
    assert repetitions[0] == 64 and repetitions[1] < 64 and iterations[0] == 300 and iterations[1] < 300
    # the suites measured at the fitted sizes, not the profile's
    for m in results["measurements"]:
        if m["suite"] == "latency" and m["name"] == "decode_tps":
            assert m["stats"]["n"] <= repetitions[1]
        if m["name"].startswith("leak_kib_per_iter_"):
            assert len(m["samples"]) <= iterations[1]
    # said before the first test, and in the report
    lines = result.stdout.splitlines()
    said = next(i for i, line in enumerate(lines) if line.startswith("[harness] budget 0.1 min: "))
    assert said < next(i for i, line in enumerate(lines) if line.startswith("suites/"))
    assert any(line.startswith("[harness]   traded: soak: ") for line in lines)
    assert "Budget 0.1 min: " in (reports / "latest" / "report.md").read_text()
    # each variant's plan was printed and kept
    for variant in results["variants"]:
        assert set(variant["estimate"]["seconds"]) == {"latency", "soak", "input_length"}


def test_a_budget_is_not_divided_among_xdist_workers():
    assert_one_line_error(run_suites("--budget", "5", "-n", "2"), "--budget fits one process's run")
