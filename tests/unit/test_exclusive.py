"""The measurement lock: exclusive excludes everything, shared work may overlap shared work."""

import subprocess
import sys
import time

from harness.measure.machine_lock import exclusive, shared

HOLD = '''
import sys, time
from pathlib import Path
from harness.measure.machine_lock import exclusive, shared
lock = {"exclusive": exclusive, "shared": shared}[sys.argv[2]]
with lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(float(sys.argv[3]))
'''


def hold(tmp_path, mode, seconds):
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path), mode, str(seconds)],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_measurement_waits_for_shared_work_and_says_so(tmp_path):
    other = hold(tmp_path, "shared", 0.6)
    told = []
    started = time.monotonic()
    with exclusive(tmp_path, waiting=told.append) as waited:
        pass
    assert told, "the wait was not reported"
    assert waited >= 0.3 and time.monotonic() - started >= 0.3, "the measurement started while shared work ran"
    other.wait()


def test_shared_work_waits_for_a_measurement(tmp_path):
    other = hold(tmp_path, "exclusive", 0.6)
    with shared(tmp_path) as waited:
        assert waited >= 0.3, "shared work started during a measurement"
    other.wait()


def test_shared_work_runs_side_by_side(tmp_path):
    other = hold(tmp_path, "shared", 2.0)
    told = []
    with shared(tmp_path, waiting=told.append) as waited:
        assert other.poll() is None and not told and waited < 1.0
    other.kill()
    other.wait()
