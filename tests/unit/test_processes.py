"""Children of the harness die with it (harness.common.processes), so kill -9 of a run leaves no
builder, worker or pip behind."""

import os
import signal
import subprocess
import sys
import time

import pytest

MIDDLE = """
import subprocess, sys, time
from harness.common.processes import die_with_parent
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], preexec_fn={preexec})
print(child.pid, flush=True)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"  # a zombie has died
    except FileNotFoundError:
        return False


def _orphan_after_kill(preexec: str, wait_s: float) -> bool:
    middle = subprocess.Popen([sys.executable, "-c", MIDDLE.format(preexec=preexec)], stdout=subprocess.PIPE, text=True)
    child = int(middle.stdout.readline())
    os.kill(middle.pid, signal.SIGKILL)
    middle.wait()
    deadline = time.monotonic() + wait_s
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = _alive(child)
    if alive:
        os.kill(child, signal.SIGKILL)
    return alive


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death request is Linux's")
def test_a_child_dies_when_the_harness_is_killed():
    assert not _orphan_after_kill("die_with_parent()", wait_s=5)
    assert _orphan_after_kill("None", wait_s=0.5)  # without it the child outlives its parent: what the request prevents


def test_a_child_killed_by_ctrl_c_stops_the_harness_even_where_its_own_interrupt_was_lost():
    """Ctrl-C reaches the whole process group; where the harness's own KeyboardInterrupt is lost
    (Python drops one that lands in a finaliser or a native callback), a builder step or a worker
    killed by SIGINT stops the run instead of failing a build or restarting the worker. (A shell
    that starts a job in the background starts it with SIGINT ignored, and children inherit that:
    this test gives SIGINT a handler first, so its children start with the default, as children of
    a run started in a terminal do.)"""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _children_killed_by_sigint_stop_the_run()
    finally:
        signal.signal(signal.SIGINT, previous)


def _children_killed_by_sigint_stop_the_run():
    from harness.errors import BuildError
    from harness.runtime.client import WorkerSession
    from harness.runtime.protocol import SessionSpec
    from harness.variants.builder import run_step

    interrupted = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGINT)"]
    with pytest.raises(KeyboardInterrupt):
        run_step(interrupted, "int4-cpu")
    with pytest.raises(BuildError):  # any other death is the build's failure, as before
        run_step([sys.executable, "-c", "raise SystemExit(3)"], "int4-cpu")

    restarts = []
    worker = WorkerSession(
        SessionSpec(model_dir="fake", fake=True),
        "int4-cpu",
        timeout=30,
        on_restart=lambda count, crash: restarts.append(count),
    )
    try:
        os.kill(worker.pid, signal.SIGINT)
        with pytest.raises(KeyboardInterrupt):
            worker.generate("hello", max_new_tokens=4)
        assert restarts == []
    finally:
        worker.close()
