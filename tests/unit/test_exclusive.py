"""The measurement lock: exclusive excludes everything, shared work may overlap shared work.

Checked by the order of events, not by wall-clock bounds: the holder writes a marker file as the
last thing it does while it holds the lock, so whoever gets the lock after it must find the marker,
and whoever gets it alongside must not."""

import subprocess
import sys

from harness.measure.machine_lock import exclusive, shared

HOLD = """
import sys, time
from pathlib import Path
from harness.measure.machine_lock import exclusive, shared
lock = {"exclusive": exclusive, "shared": shared}[sys.argv[2]]
with lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(float(sys.argv[3]))
    Path(sys.argv[4]).write_text("released")
"""


def hold(tmp_path, mode, seconds):
    marker = tmp_path / "released"
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path), mode, str(seconds), str(marker)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "held"
    return process, marker


def test_a_measurement_waits_for_shared_work_and_says_so(tmp_path):
    other, released = hold(tmp_path, "shared", 0.6)
    told = []
    with exclusive(tmp_path, waiting=told.append) as waited:
        assert released.exists(), "the measurement started while shared work ran"
    assert told, "the wait was not reported"
    assert waited > 0
    other.wait()


def test_shared_work_waits_for_a_measurement(tmp_path):
    other, released = hold(tmp_path, "exclusive", 0.6)
    with shared(tmp_path) as waited:
        assert released.exists(), "shared work started during a measurement"
        assert waited > 0
    other.wait()


def test_shared_work_runs_side_by_side(tmp_path):
    other, released = hold(tmp_path, "shared", 30.0)
    told = []
    with shared(tmp_path, waiting=told.append):
        assert not released.exists() and other.poll() is None, "shared work waited for shared work"
        assert not told
    other.kill()
    other.wait()
