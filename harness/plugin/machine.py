"""Measurements alone: performance tests hold the machine exclusively, other variant work shares it."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from harness.measure.machine_lock import exclusive, shared
from harness.plugin.keys import PROP_VARIANT, PROP_WINDOW, STATE

# ---------------------------------------------------------------------------------------------
# Measurements alone: performance tests hold the machine exclusively, other variant work shares it


def _machine_lock(item: pytest.Item):
    state = item.config.stash[STATE]
    if PROP_VARIANT not in dict(item.user_properties):
        return None
    perf = item.get_closest_marker("harness_perf") is not None

    def waiting(_: float) -> None:
        what = "a measurement" if perf else "work"
        state.progress(f"{item.nodeid}: {what} waits until other workers' {'work' if perf else 'measurements'} finish")

    return (exclusive if perf else shared)(state.config.cache_dir, waiting)


@contextmanager
def _holding_machine(item: pytest.Item, record_window: bool) -> Iterator[None]:
    lock = _machine_lock(item)
    if lock is None:
        yield
        return
    with lock:
        started = time.time()
        try:
            yield
        finally:
            if record_window:
                item.user_properties.append(
                    (
                        PROP_WINDOW,
                        {
                            "test": item.nodeid,
                            "pid": os.getpid(),
                            "start": started,
                            "end": time.time(),
                            "mode": "exclusive" if item.get_closest_marker("harness_perf") else "shared",
                        },
                    )
                )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    with _holding_machine(item, record_window=False):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    with _holding_machine(item, record_window=True):
        return (yield)
