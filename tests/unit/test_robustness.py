"""The robustness cases' judge, without a model."""

from harness.errors import GenerationError
from harness.measure.robustness import CASES, RESPONSE, outcome_of
from harness.measure.trace import GenerationTrace


def trace(prompt_tokens, new_tokens):
    return GenerationTrace(
        prompt_tokens=prompt_tokens,
        tokens=tuple(range(new_tokens)),
        text="x",
        token_times=tuple(0.001 * k for k in range(1, new_tokens + 1)),
        tokenize_s=0.0,
        finish_reason="length",
    )


def test_a_response_must_hold_tokens_within_max_length():
    assert outcome_of(lambda **kw: trace(10, 7), {}, max_length=20)[0] == RESPONSE
    assert outcome_of(lambda **kw: trace(10, 7), {}, max_length=16)[0] == "invalid_response"
    assert outcome_of(lambda **kw: trace(10, 0), {}, max_length=16)[0] == "invalid_response"


def test_a_typed_refusal_is_its_kind_and_an_untyped_one_is_never_accepted():
    def refuse(**kw):
        raise GenerationError("prompt_too_long", "too long")

    assert outcome_of(refuse, {}, max_length=16) == ("prompt_too_long", "too long")
    assert all("runtime_error" not in case.accepts for case in CASES)
    assert len({case.name for case in CASES}) == len(CASES)
