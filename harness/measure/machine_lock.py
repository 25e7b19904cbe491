"""Keep measurements alone on the machine, across pytest-xdist workers and concurrent runs.

A timing or memory measurement that shares the cores with other work measures nothing. Every
process of a run (and any other run using the same cache folder) takes one lock file:

- a **measurement** (a performance test, from its setup to its end, or the bandwidth probe) takes
  it *exclusively*: nothing else of the harness runs meanwhile;
- any other work that loads the cores (builds, quality and robustness tests) takes it *shared*:
  such work may run side by side, but never while a measurement runs.

The lock is ``flock(2)`` on a file, so it is released by the kernel when a process dies, and is
never held twice by one process (pytest runs one test phase at a time in each process).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = "measure.lock"


@contextmanager
def _flock(path: Path, mode: int, waiting: Callable[[float], None] | None) -> Iterator[float]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    started = time.monotonic()
    try:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting is not None:
                waiting(0.0)
            fcntl.flock(fd, mode)
        yield time.monotonic() - started
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def exclusive(lock_dir: Path, waiting: Callable[[float], None] | None = None):
    """Hold the machine for a measurement; yields the seconds spent waiting for it."""
    return _flock(Path(lock_dir) / LOCK_NAME, fcntl.LOCK_EX, waiting)


def shared(lock_dir: Path, waiting: Callable[[float], None] | None = None):
    """Run work that may overlap other work but never a measurement."""
    return _flock(Path(lock_dir) / LOCK_NAME, fcntl.LOCK_SH, waiting)
