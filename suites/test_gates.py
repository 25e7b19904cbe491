"""Release gates: one test per gate and variant, judged after every suite has run.

Gates come from ``--gates FILE``, ``[tool.harness.gates]`` or the built-in defaults
(harness/gates.py, README: Gates). A failing gate fails the run, naming the metric, the variant,
the value with its interval and the threshold; a gate whose metric was not measured in this run
is skipped with the reason.
"""

import pytest

pytestmark = pytest.mark.harness_gate


def test_gate(gate_case, judge_gate):
    gate, variant = gate_case
    judgement = judge_gate(gate, variant)
    if judgement.status == "skipped":
        pytest.skip(judgement.message)
    if judgement.status != "passed":
        pytest.fail(judgement.message, pytrace=False)
