"""Robustness: edge cases and bad input end in a valid response or a typed error, never a crash,
and the variant's session then answers a normal request exactly as it did before.

The cases are in ``harness/measure/robustness.py``; each one is a test per variant (ids like
``test_input_is_handled[int4-cpu-emoji]``) and a verdict in results.json. Runs with and without
``--benchmark``.
"""

import pytest

from harness.measure.records import verdict
from harness.measure.robustness import CASES, Context, outcome_of


def planned_seconds(sizes, shape, cost):
    """Per case a normal request after it (and one before the first) and the case's own short one;
    one case prefills the whole context (harness.measure.plan)."""
    cases = len(CASES)
    return (
        cost.seconds(shape.prompt_tokens, 16, cases + 1)
        + cost.seconds(16, 16, cases - 1)
        + cost.seconds(shape.max_length - 16, 16)
    )


@pytest.fixture(scope="session")
def robustness_context(harness_session, format_prompt):
    info = harness_session.info()
    return Context(
        max_length=info["max_length"],
        context_length=info.get("context_length", info["max_length"]),
        vocab_size=info["vocab_size"],
        encode=harness_session.encode,
        chat=lambda text: format_prompt([{"role": "user", "content": text}]),
    )


@pytest.fixture(scope="session")
def normal_answers() -> dict:
    """Each variant's latest answer to the normal request: what the answer after its next case
    must equal (the session is greedy, so one request before the first case stands for all)."""
    return {}


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_input_is_handled(
    variant, harness_session, domain_prompt, robustness_context, case, normal_answers, record_verdict
):
    def answer_to_normal():
        return harness_session.generate(domain_prompt, max_new_tokens=16).tokens

    before = normal_answers.get(variant.id) or answer_to_normal()
    outcome, detail = outcome_of(
        harness_session.generate, case.request(robustness_context), robustness_context.max_length
    )
    after = normal_answers[variant.id] = answer_to_normal()
    accepted = outcome in case.accepts
    recovered = after == before
    record_verdict(
        verdict(
            variant.id,
            "robustness",
            case.name,
            accepted and recovered,
            outcome=outcome,
            accepted=list(case.accepts),
            recovered=recovered,
            message=f"{case.description}: {outcome} ({detail})"
            + ("" if recovered else "; the next normal request answered differently"),
        )
    )
    assert accepted, f"{case.name}: {outcome} ({detail}); expected one of {', '.join(case.accepts)}"
    assert recovered, f"{case.name}: after it, a normal request answered {after} instead of {before}"
