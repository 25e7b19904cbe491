"""Where the plugin keeps things: the run's stash key, whether this process is a pytest-xdist
worker, and the names of the test report properties that carry builds, measurements, verdicts,
answers and gates to the results collector."""

from __future__ import annotations

import pytest

from harness.run.run import Run

PROP_VARIANT = "harness.variant"
PROP_UPDATE = "harness.variant_update"
PROP_MEASUREMENT = "harness.measurement"
PROP_VERDICT = "harness.verdict"
PROP_WINDOW = "harness.window"  # when a test's call held the machine lock, and how
PROP_ANSWERS = "harness.answers"  # per-example answers and scores of the task-quality suite
PROP_GATE = "harness.gate"  # a gate's judgement (or, under xdist, the gate left to the controller)


STATE = pytest.StashKey[Run]()
IS_WORKER = pytest.StashKey[bool]()  # a pytest-xdist worker: the controller holds the results
