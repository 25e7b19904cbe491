"""Fixtures shared by the end-to-end test files."""

import pytest
from test_suites_e2e import run_suites


@pytest.fixture(scope="session")
def main_job(tmp_path_factory, build_cache):
    """The README's main job, `pytest suites/ --benchmark` (standard profile, every suite, the
    default gates) on the embedded model, run once per test session: its shape is checked in
    test_suites_e2e.py and its report, `compare`, `merge` and `package` in test_report.py.
    Returns the reports folder (its runs under it, `latest` the newest) and pytest's output."""
    reports = tmp_path_factory.mktemp("main-job") / "reports"
    result = run_suites("--benchmark", "--reports-dir", str(reports), "--cache-dir", str(build_cache))
    assert result.returncode == 0, result.stdout[-3000:]
    return reports, result.stdout
