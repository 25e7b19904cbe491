"""Fixtures shared by the end-to-end test files."""

import json

import pytest
from filelock import FileLock
from suites_run import run_suites


@pytest.fixture(scope="session")
def main_job(tmp_path_factory, build_cache, worker_id):
    """The README's main job, `pytest suites/ --benchmark` (every suite, the default gates), on the
    embedded model with the quick profile, run once per test session: its shape is checked in
    test_suites_e2e.py and its report, `compare`, `merge` and `package` in test_report.py. The
    quick profile records what the standard one records (the same variants, measurement names,
    verdicts and gates; only the counts differ: checked against the standard run's shape file),
    in about half the time. Returns the reports folder and pytest's output. Under pytest-xdist
    the first worker to ask runs it and the others read what it left (the workers' temporary
    folders share a parent): the tests only read the run."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if worker_id != "master" else base
    with FileLock(shared / "main-job.lock"):
        done = shared / "main-job.json"
        if done.exists():
            known = json.loads(done.read_text())
            assert known["returncode"] == 0, known["stdout"][-3000:]
            return shared / "main-job" / "reports", known["stdout"]
        reports = shared / "main-job" / "reports"
        result = run_suites(
            "--benchmark", "--profile", "quick", "--reports-dir", str(reports), "--cache-dir", str(build_cache)
        )
        done.write_text(json.dumps({"returncode": result.returncode, "stdout": result.stdout}))
    assert result.returncode == 0, result.stdout[-3000:]
    return reports, result.stdout


@pytest.fixture(scope="session")
def olive_python(build_cache):
    """Olive's toolchain (a virtual environment in the build cache), prepared by the test that needs
    it before it starts `pytest suites/`: there the first Olive build would prepare it while
    holding the machine lock shared, and every measurement of the other xdist worker would wait
    the minutes a cold install takes. Preparing it here holds no lock."""
    from harness.common import toolchains

    return toolchains.prepare(toolchains.OLIVE, build_cache)
