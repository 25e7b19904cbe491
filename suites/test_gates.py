"""Release gates: one test per gate and variant, judged after every suite has run.

Gates come from ``--gates-file FILE``, ``[tool.harness.gates]`` or the built-in defaults
(harness/gates/judge.py, docs/guides/gates.md). A failing gate fails the run, naming the metric, the variant,
the value with its interval and the threshold. A gate that does not apply by design (the data
set has no such check, the reference compared with itself, a performance metric without
--benchmark) is skipped as "not applicable" with the reason; a gate whose measurement is missing
for any other reason could not be judged, and fails.
"""

import pytest

from harness.results.view import NOT_APPLICABLE

pytestmark = pytest.mark.harness_gate


def test_gate(gate_case, judge_gate):
    gate, variant = gate_case
    judgement = judge_gate(gate, variant)
    if judgement.status == NOT_APPLICABLE:
        pytest.skip(judgement.message)
    if judgement.status != "passed":
        pytest.fail(judgement.message, pytrace=False)
