"""The plan's arithmetic: a request's cost from one trace, and each suite's account of its requests."""

import importlib.util
from pathlib import Path

import pytest

from harness.measure.plan import RequestCost, Shape, plan_line
from harness.measure.robustness import CASES
from harness.measure.trace import GenerationTrace
from harness.settings.config import PROFILES

SUITES = Path(__file__).resolve().parents[2] / "suites"
COST = RequestCost(prefill_s_per_token=0.001, decode_s_per_token=0.01)  # 1 ms a prompt token, 10 ms a new one


def _suite(name: str):
    spec = importlib.util.spec_from_file_location(f"_planned_{name}", SUITES / f"test_{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _shape(profile: str) -> Shape:
    return Shape(max_length=1024, prompt_tokens=100, profile=PROFILES[profile], answer_tokens=128, examples=40)


def test_a_requests_cost_is_its_prefill_per_prompt_token_and_its_decode_per_new_token():
    # 200 prompt tokens, the first token at 0.4 s, then one every 0.05 s
    trace = GenerationTrace(200, (1, 2, 3, 4, 5), "", (0.4, 0.45, 0.5, 0.55, 0.6), 0.0, "length")
    cost = RequestCost.of(trace)
    assert cost.prefill_s_per_token == pytest.approx(0.002) and cost.decode_s_per_token == pytest.approx(0.05)
    assert cost.seconds(100, 10, count=3) == pytest.approx(3 * (0.2 + 0.5))
    assert cost.to_record() == pytest.approx({"prefill_ms_per_token": 2.0, "decode_ms_per_token": 50.0})


def test_each_suite_plans_the_requests_its_loop_makes():
    quick = _shape("quick")
    # input length, quick under max_length 1024: points 16, 504, 1008 with 16 new tokens; a warm-up
    # at 16; at each point one prefill and five more decodes of one appended token each
    sweep = _suite("input_length")
    per_point = [length * 0.001 + 0.16 + 5 * (0.001 + 0.16) for length in (16, 504, 1008)]
    assert sweep.planned_seconds(sweep.SIZES["quick"], quick, COST) == pytest.approx(0.016 + 0.16 + sum(per_point))
    # soak, quick: 40 warm-ups before the fresh mode, 10 before the reused one, each mode up to 120
    # iterations, bounded at 30 s after 30
    soak = _suite("soak")
    one = 0.1 + 0.16
    assert soak.planned_seconds(soak.SIZES["quick"], quick, COST) == pytest.approx(50 * one + 2 * 30)
    # robustness: a normal request after each case and one before the first, each case's short
    # request, one at the limit
    robustness = _suite("robustness")
    n = len(CASES)
    expected = (n + 1) * (0.1 + 0.16) + (n - 1) * (0.016 + 0.16) + (1008 * 0.001 + 0.16)
    assert robustness.planned_seconds(None, quick, COST) == pytest.approx(expected)
    # latency, standard: the profile's warm-ups and most repetitions
    standard = _shape("standard")
    profile = PROFILES["standard"]
    latency = _suite("latency")
    assert latency.planned_seconds(None, standard, COST) == pytest.approx(
        (profile.warmup + profile.repetitions) * (0.1 + profile.new_tokens * 0.01)
    )
    # quality: 40 answers to the cap, and the closeness chunks prefilled once
    quality = _suite("quality")
    assert quality.planned_seconds(None, quick, COST) == pytest.approx(
        40 * (0.1 + 1.28) + PROFILES["quick"].kld_chunks * 0.512
    )


def test_the_plan_line_names_the_variant_the_total_and_the_longest_suite_first():
    line = plan_line("int4-cpu", {"latency": 12.0, "soak": 80.0, "input_length": 54.0}, COST)
    assert line.startswith(
        "plan int4-cpu: about 2.4 min in the suites that make requests (soak 80 s, input_length 54 s"
    )
    assert line.endswith("from one request: prefill 1 ms/token, decode 10 ms/token")


def test_a_budget_moves_every_size_the_same_share_of_the_way_to_the_quick_profiles():
    from harness.measure.plan import toward

    standard = {"points": (0.0, 0.25, 0.5, 0.75, 1.0), "prefills": 2, "decodes": 12, "new_tokens": 32}
    quick = {"points": (0.0, 0.5, 1.0), "prefills": 1, "decodes": 6, "new_tokens": 16}
    assert toward(standard, quick, 1.0) == standard
    assert toward(standard, quick, 0.0) == {**quick, "new_tokens": 32}  # the measured request is kept
    half = toward(standard, quick, 0.5)
    assert half["decodes"] == 9 and half["prefills"] == 2 and half["points"] == standard["points"]  # round(1.5)
    assert toward(standard, quick, 0.4)["points"] == quick["points"]  # below one half: quick's points
    # floats interpolate; a missing bound becomes quick's (a budget bounds time); counts stay >= 1
    fitted = toward(
        {"precision": 0.02, "seconds": None, "pairs": 2}, {"precision": 0.1, "seconds": 30, "pairs": 0}, 0.25
    )
    assert fitted == {"precision": pytest.approx(0.08), "seconds": 30, "pairs": 1}


def test_what_a_budget_traded_is_said_per_suite():
    from harness.measure.plan import budget_lines

    fits = {"minutes": 30, "share": 1.0, "variants": 4, "planned_seconds": 600, "fitted_seconds": 600, "changed": {}}
    assert budget_lines(fits, "standard") == [
        "budget 30 min: the plan at the standard profile's sizes is about 10.0 min for 4 variant(s) (each costed "
        "like the first); it fits, nothing traded"
    ]
    record = {
        **fits,
        "minutes": 5,
        "share": 0.25,
        "fitted_seconds": 280,
        "changed": {"profile.repetitions": [64, 34], "soak.iterations": [300, 165]},
    }
    first, *traded = budget_lines(record, "standard")
    assert first.endswith(
        "every size moved to 25% of the way from the quick profile's to the standard profile's (about 4.7 min)"
    )
    assert traded == [
        "  traded: profile: repetitions 64 -> 34: every timed figure and the quality samples carry wider intervals",
        "  traded: soak: iterations 300 -> 165: the soak suite's figures carry wider intervals",
    ]
