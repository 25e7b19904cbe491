"""Per-example task scores: each check of a record (:data:`harness.evaluation.records.CHECKS`) applied to an
answer. Pass/fail checks give booleans; ``rouge_l`` gives the ROUGE-L F1 in [0, 1]."""

from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache
from typing import Any

from harness.evaluation.records import CHECKS, Example, first_number

SCORED = ("rouge_l",)  # scores in [0, 1], not pass/fail
PASS_FAIL = tuple(check for check in CHECKS if check not in SCORED)
ALL_CHECKS = "all_checks"  # an example passes every pass/fail check it carries: task accuracy on any data set
PROPORTIONS = PASS_FAIL + (ALL_CHECKS,)  # reported as shares with Wilson intervals
TASK_METRICS = PROPORTIONS + SCORED  # the task-quality suite's measurement names


def normalise(text: str) -> str:
    """Text as exact match compares it: Unicode NFKC, case-folded, runs of white space as one
    space, no surrounding white space and no final full stop."""
    text = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return text[:-1].rstrip() if text.endswith(".") else text


def _parse_json(text: str) -> tuple[bool, Any]:
    try:
        return True, json.loads(text.strip())
    except (json.JSONDecodeError, ValueError):
        return False, None


def exact_match(answer: str, reference: str) -> bool:
    """Equal as JSON values when the reference is a JSON object or array (key order and spacing
    do not matter), otherwise equal after :func:`normalise`."""
    ok_ref, ref_value = _parse_json(reference)
    if ok_ref and isinstance(ref_value, (dict, list)):
        ok, value = _parse_json(answer)
        return ok and value == ref_value
    return normalise(answer) == normalise(reference)


@lru_cache(maxsize=1)
def _rouge():
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"])


def rouge_l(answer: str, reference: str) -> float:
    return float(_rouge().score(reference, answer)["rougeL"].fmeasure)


def schema_conforms(answer: str, schema: dict) -> bool:
    from jsonschema.validators import validator_for

    ok, value = _parse_json(answer)
    return ok and validator_for(schema)(schema).is_valid(value)


def score(example: Example, answer: str) -> dict[str, bool | float]:
    """Every check of ``example`` applied to ``answer``, by check name."""
    checks, scores = example.checks, {}
    if "exact_match" in checks:
        scores["exact_match"] = exact_match(answer, example.reference)
    if "contains" in checks:
        folded = answer.casefold()
        scores["contains"] = all(item.casefold() in folded for item in checks["contains"])
    if "regex" in checks:
        scores["regex"] = re.search(checks["regex"], answer) is not None
    if "json_valid" in checks:
        scores["json_valid"] = _parse_json(answer)[0]
    if "json_schema" in checks:
        scores["json_schema"] = schema_conforms(answer, checks["json_schema"])
    if "numeric" in checks:
        found = first_number(answer)
        spec = checks["numeric"]
        scores["numeric"] = found is not None and abs(found - spec["value"]) <= spec["tolerance"]
    if "rouge_l" in checks:
        scores["rouge_l"] = rouge_l(answer, example.reference)
    outcomes = [scores[name] for name in PASS_FAIL if name in scores]
    if outcomes:
        scores[ALL_CHECKS] = all(outcomes)
    return scores
