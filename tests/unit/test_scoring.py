"""Per-example checks: what passes, what fails."""

import pytest

from harness.evaluation.matching import exact_match, normalise, rouge_l
from harness.evaluation.records import Example
from harness.evaluation.scoring import score

SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"], "additionalProperties": False}


def test_exact_match_normalises_text_and_compares_json_as_values():
    assert normalise("  The  ANSWER.\n") == "the answer"
    assert exact_match("Paris.", "paris")
    assert not exact_match("Paris, France", "Paris")
    assert exact_match('{"b": 2, "a": 1}', '{"a":1,"b":2}')
    assert not exact_match('{"a": 1}', '{"a": 2}')
    assert not exact_match("not json", '{"a": 1}')


def test_rouge_l_is_the_lcs_f_measure():
    # LCS of "the cat sat on the mat" / "the cat is on the mat" = 5 of 6 tokens each side
    assert rouge_l("the cat is on the mat", "the cat sat on the mat") == pytest.approx(5 / 6)
    assert rouge_l("", "something") == 0.0


@pytest.mark.parametrize(
    "answer, expected",
    [
        (
            '{"n": 42}',
            {
                "exact_match": True,
                "contains": True,
                "regex": True,
                "json_valid": True,
                "json_schema": True,
                "numeric": True,
            },
        ),
        (
            '{"n": 41.9}',
            {
                "exact_match": False,
                "contains": False,
                "regex": True,
                "json_valid": True,
                "json_schema": False,
                "numeric": True,
            },
        ),
        (
            '{"n": "42"',
            {
                "exact_match": False,
                "contains": True,
                "regex": True,
                "json_valid": False,
                "json_schema": False,
                "numeric": True,
            },
        ),
        (
            "n is ORD-43",
            {
                "exact_match": False,
                "contains": False,
                "regex": False,
                "json_valid": False,
                "json_schema": False,
                "numeric": False,
            },
        ),
    ],
)
def test_every_check(answer, expected):
    example = Example(
        id="x",
        messages=({"role": "user", "content": "n?"},),
        reference='{"n": 42}',
        checks={
            "exact_match": True,
            "contains": ["42"],
            "regex": r"^\{",
            "json_valid": True,
            "json_schema": SCHEMA,
            "numeric": {"value": 42.0, "tolerance": 0.5},
            "rouge_l": True,
        },
    )
    scores = score(example, answer)
    assert {k: v for k, v in scores.items() if k not in ("rouge_l", "all_checks")} == expected
    assert scores["all_checks"] == all(expected.values())  # one example passes all six, the others not
    assert 0.0 <= scores["rouge_l"] <= 1.0


def test_all_checks_needs_a_pass_fail_check():
    scored_only = Example(
        id="x", messages=({"role": "user", "content": "?"},), reference="a b", checks={"rouge_l": True}
    )
    assert "all_checks" not in score(scored_only, "a b")  # ROUGE-L is a score, not a pass or fail
    one = Example(id="y", messages=({"role": "user", "content": "?"},), checks={"regex": r"(?i)\bparis\b"})
    assert score(one, "The capital is Paris.")["all_checks"] is True
    assert score(one, "The capital is Lyon.")["all_checks"] is False
