"""Fixtures shared by the end-to-end test files."""

import pytest
from test_suites_e2e import run_suites


@pytest.fixture(scope="session")
def main_job(tmp_path_factory, build_cache):
    """The README's main job, `pytest suites/ --benchmark` (every suite, the default gates), on the
    embedded model with the quick profile, run once per test session: its shape is checked in
    test_suites_e2e.py and its report, `compare`, `merge` and `package` in test_report.py. The
    quick profile records what the standard one records (the same variants, measurement names,
    verdicts and gates; only the counts differ: checked against the standard run's shape file),
    in about half the time. Returns the reports folder and pytest's output."""
    reports = tmp_path_factory.mktemp("main-job") / "reports"
    result = run_suites(
        "--benchmark", "--profile", "quick", "--reports-dir", str(reports), "--cache-dir", str(build_cache)
    )
    assert result.returncode == 0, result.stdout[-3000:]
    return reports, result.stdout
