"""A worker that dies, hangs, answers nothing or cannot run: the run says so, keeps what it
measured and goes on."""

import json
import os
import subprocess
import sys

import pytest
from suites_run import REPO, load, run_suites

pytestmark = pytest.mark.slow


KILLER = '''
import os, signal
import pytest

KILLED = []

@pytest.fixture(autouse=True)
def _kill_a_worker(request):
    """Kill VARIANT's worker once, when the test named TEST (any, if unset) asks for its session."""
    callspec = getattr(request.node, "callspec", None)
    wanted = os.environ.get("KILL_TEST")
    if (not KILLED and callspec and str(callspec.params.get("variant")) == os.environ["KILL_VARIANT"]
            and "harness_session" in request.fixturenames and (not wanted or request.node.name.startswith(wanted))):
        session = request.getfixturevalue("harness_session")
        KILLED.append(request.node.name)
        os.kill(session.pid, signal.SIGKILL)
'''


def test_a_killed_worker_fails_its_test_and_the_variant_goes_on_in_a_fresh_one(tiny_qwen2, tmp_path, build_cache):
    (tmp_path / "killer.py").write_text(KILLER)
    reports = tmp_path / "reports"
    result = run_suites(
        "--model",
        str(tiny_qwen2),
        "--profile",
        "quick",
        "--reports-dir",
        str(reports),
        "--cache-dir",
        str(build_cache),
        "-p",
        "killer",
        "-v",
        env={"PYTHONPATH": str(tmp_path), "KILL_VARIANT": "int8-cpu"},
    )
    assert result.returncode == 1, result.stdout[-3000:]
    assert "worker for variant int8-cpu died (killed by signal SIGKILL)" in result.stdout
    assert "fresh worker 1 of 3 for its next test" in result.stdout
    failed = [line for line in result.stdout.splitlines() if line.endswith("FAILED") or " FAILED " in line]
    assert len([line for line in failed if "[int8-cpu" in line]) == 1, failed  # only the test that met the crash
    assert "test_input_is_handled[int8-cpu-emoji] PASSED" in result.stdout  # later tests: a fresh worker
    results = load(reports)
    assert results["run"]["complete"] is True
    statuses = {v["id"]: v["status"] for v in results["variants"]}
    assert statuses == {"fp32-cpu": "passed", "fp16-cpu": "passed", "int8-cpu": "crashed", "int4-cpu": "passed"}
    crashed = next(v for v in results["variants"] if v["id"] == "int8-cpu")
    assert "SIGKILL" in crashed["error"] and crashed["worker_restarts"] == 1
    assert sum(outcome == "failed" for outcome in crashed["tests"].values()) == 1


HANGER = '''
import os
import time

import harness.runtime.session as session

_generate = session.OgaSession.generate


_served = []


def hanging_generate(self, *args, **kwargs):
    """The first request a worker serves after HANG_AFTER hangs (a marker file says it happened)."""
    marker = os.environ["HANG_MARKER"]
    _served.append(1)
    if len(_served) > int(os.environ.get("HANG_AFTER", "0")) and not os.path.exists(marker):
        open(marker, "w").write(str(os.getpid()))
        time.sleep(3600)
    return _generate(self, *args, **kwargs)


session.OgaSession.generate = hanging_generate
'''


def test_a_hung_worker_is_killed_after_the_worker_timeout_and_the_variant_goes_on(tmp_path, build_cache):
    """--worker-timeout: a request that never answers fails its test with the timeout named, the
    hung worker is killed, and the variant's next tests run in a fresh worker."""
    import psutil

    (tmp_path / "sitecustomize.py").write_text(HANGER)
    marker = tmp_path / "hung.pid"
    reports = tmp_path / "reports"
    result = run_suites(
        "--precisions",
        "int4",
        "--profile",
        "quick",
        "-k",
        "robustness or smoke",
        "-v",
        "--worker-timeout",
        "5",
        "--reports-dir",
        str(reports),
        "--cache-dir",
        str(build_cache),
        # the plan's two timed requests are served first, when the worker opens: a test's hangs
        env={"PYTHONPATH": str(tmp_path), "HANG_MARKER": str(marker), "HANG_AFTER": "2"},
    )
    assert result.returncode == 1, result.stdout[-3000:]
    assert "[harness] plan int4-cpu: about " in result.stdout
    assert marker.is_file(), "no request hung: the test tested nothing"
    assert "no answer within 5 s; killed" in result.stdout
    assert not psutil.pid_exists(int(marker.read_text())), "the hung worker is still alive"
    failed = [line for line in result.stdout.splitlines() if " FAILED" in line and "::" in line]
    assert len(failed) == 1 and "[int4-cpu" in failed[0], failed  # only the test whose request hung
    assert "fresh worker 1 of 3 for its next test" in result.stdout
    variant = load(reports)["variants"][0]
    assert variant["status"] == "crashed" and variant["worker_restarts"] == 1
    assert sum(outcome == "passed" for outcome in variant["tests"].values()) >= 1  # the tests after it


def test_a_crashed_quality_suite_fails_its_gates_as_not_judged(tmp_path, build_cache):
    (tmp_path / "killer.py").write_text(KILLER)
    reports = tmp_path / "reports"
    result = run_suites(
        "--precisions",
        "int4",
        "--profile",
        "quick",
        "--reports-dir",
        str(reports),
        "--cache-dir",
        str(build_cache),
        "-p",
        "killer",
        "-k",
        "not foundry",
        env={"PYTHONPATH": str(tmp_path), "KILL_VARIANT": "int4-cpu", "KILL_TEST": "test_task_quality"},
    )
    assert result.returncode == 1, result.stdout[-3000:]
    gates = {g["gate"]: g for g in load(reports)["gates"]["results"]}
    accuracy = gates["task_accuracy_kept"]
    assert accuracy["status"] == "failed" and accuracy["judged"] is False
    assert accuracy["message"] == (
        "gate 'task_accuracy_kept' (all_checks >= reference - 0.05) could not be judged: "
        "all_checks was not measured for int4-cpu (failed tests of int4-cpu: "
        "test_quality.py::test_task_quality)"
    )
    assert gates["close_to_reference"]["status"] == "passed"  # the next suite ran in a fresh worker
    assert "could not be judged)" in result.stdout and "FAILED gate 'task_accuracy_kept'" in result.stdout
    assert "**FAIL** (not judged)" in (reports / "latest" / "report.md").read_text()


def test_a_model_that_answers_nothing_is_reported_not_crashed(tmp_path):
    from tiny_models import make_silent_model

    model = make_silent_model(tmp_path / "silent")
    reports = tmp_path / "reports"
    result = run_suites(
        "--model",
        str(model),
        "--precisions",
        "fp32",
        "--profile",
        "quick",
        "-v",
        "--dataset",
        "general_knowledge",
        "--reports-dir",
        str(reports),
        "--cache-dir",
        str(tmp_path / "cache"),
        str(REPO / "suites" / "test_smoke.py"),
        str(REPO / "suites" / "test_robustness.py"),
        str(REPO / "suites" / "test_quality.py"),
    )
    assert "died" not in result.stdout, result.stdout[-3000:]
    assert "empty answer" in result.stdout  # the smoke suite fails it for what it is
    results = load(reports)
    variant = results["variants"][0]
    assert variant["status"] == "failed" and "worker_restarts" not in variant
    assert all(v["passed"] for v in results["verdicts"] if v["suite"] == "robustness"), results["verdicts"]
    answers = results["answers"]
    assert answers and all(a["answer"] == "" and a["finish_reason"] == "eos" and a["new_tokens"] == 1 for a in answers)


def test_forcing_an_unsupported_variant_shows_the_real_failure(tmp_path, build_cache):
    result = run_suites(
        "--precisions",
        "int4",
        "--providers",
        "cuda",
        "--force-unsupported",
        "-k",
        "not foundry",
        "--reports-dir",
        str(tmp_path),
        "--cache-dir",
        str(build_cache),
        str(REPO / "suites" / "test_smoke.py"),
    )
    assert result.returncode == 1
    assert "Cuda interface not available" in result.stdout
    results = load(tmp_path)
    assert results["variants"][0]["status"] == "failed"


def test_measurements_never_overlap_under_xdist(tiny_qwen2, tmp_path, build_cache):
    reports = tmp_path / "reports"
    result = run_suites(
        "--model",
        str(tiny_qwen2),
        "--benchmark",
        "--profile",
        "quick",
        "-n",
        "2",
        "--precisions",
        "fp32,int4",
        "--reports-dir",
        str(reports),
        "--cache-dir",
        str(build_cache),
    )
    assert result.returncode == 0, result.stdout[-3000:]
    results = load(reports)
    windows = results["run"]["lock_windows"]
    assert len({w["pid"] for w in windows}) == 2, "both xdist workers should have run tests"
    exclusive = [w for w in windows if w["mode"] == "exclusive"]
    assert len(exclusive) == 2 * 4  # latency, memory, input length, soak per variant (overhead: --overhead)
    for window in exclusive:
        for other in windows:
            if other is not window:
                assert other["end"] <= window["start"] or other["start"] >= window["end"], (window, other)
    assert {v["id"]: v["status"] for v in results["variants"]} == {"fp32-cpu": "passed", "int4-cpu": "passed"}


def test_ctrl_c_keeps_every_finished_measurement(tmp_path, build_cache):
    import signal
    import time

    reports = tmp_path / "reports"
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(REPO / "suites"),
        "-p",
        "no:cacheprovider",
        "--benchmark",
        "--profile",
        "standard",
        "--reports-dir",
        str(reports),
        "--cache-dir",
        str(build_cache),
    ]
    # its own process group, as a terminal's job; SIGINT restored to its default, since a shell
    # that starts this run in the background hands it down ignored (and Python then keeps it so)
    process = subprocess.Popen(
        command,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    results = reports / "latest" / "results.json"
    deadline = time.monotonic() + 300
    measured = 0
    while time.monotonic() < deadline and process.poll() is None:
        try:
            measured = len(json.loads(results.read_text())["measurements"])
        except (OSError, ValueError, KeyError):
            measured = 0
        if measured >= 3:
            break
        time.sleep(0.1)
    assert process.poll() is None, "the run ended before it could be interrupted"
    assert measured >= 3, "nothing was measured in 300 s: the interrupt would test nothing"
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 2, output[-3000:]  # pytest's "interrupted"
    data = json.loads(results.read_text())
    assert data["run"]["complete"] is False and data["run"]["exit_status"] == 2
    assert len(data["measurements"]) >= measured
    assert all(m["samples"] for m in data["measurements"])
    assert (reports / "latest" / "report.md").is_file()
