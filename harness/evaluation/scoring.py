"""Per-example task scores: each check of a record (:data:`harness.evaluation.checks.CHECKS`) applied to an
answer. Pass/fail checks give booleans; ``rouge_l`` gives the ROUGE-L F1 in [0, 1]."""

from __future__ import annotations

from harness.evaluation.checks import CHECKS
from harness.evaluation.records import Example

SCORED = tuple(name for name, check in CHECKS.items() if not check.pass_fail)  # scores in [0, 1]
PASS_FAIL = tuple(name for name, check in CHECKS.items() if check.pass_fail)
ALL_CHECKS = "all_checks"  # an example passes every pass/fail check it carries: task accuracy on any data set
PROPORTIONS = PASS_FAIL + (ALL_CHECKS,)  # reported as shares with Wilson intervals
TASK_METRICS = PROPORTIONS + SCORED  # the task-quality suite's measurement names


def score(example: Example, answer: str) -> dict[str, bool | float]:
    """Every check of ``example`` applied to ``answer``, by check name (in the registry's order),
    and ``all_checks`` when it carries a pass/fail check."""
    scores = {
        name: check.score(answer, example.checks[name], example.reference)
        for name, check in CHECKS.items()
        if name in example.checks
    }
    outcomes = [scores[name] for name in PASS_FAIL if name in scores]
    if outcomes:
        scores[ALL_CHECKS] = all(outcomes)
    return scores
