"""The search's method on a model whose KLD is a known sum of per-group costs: which groups it
demotes, in which order, when it stops, and what it says when no mix can pass."""

import pytest

from harness.gates.spec import parse_gate
from harness.run.search import closeness_gates
from harness.variants.mixed import EMBED, check_plan, describe, uniform
from harness.variants.search import SearchFailed, describe_choice, misses, search

GROUPS = [EMBED, "layers.0", "layers.1", "layers.2", "lm_head"]
MB = 1_000_000
SIZE = {4: MB, 8: 2 * MB, 32: 4 * MB}  # every group the same size: the cost order is the KLD order
COST = {EMBED: 0.05, "layers.0": 0.03, "layers.1": 0.001, "layers.2": 0.002, "lm_head": 0.004}  # KLD added at INT4


def size_of(plan):
    return sum(SIZE[bits] for bits in plan.values())


def measure_with(base=0.0005):
    calls = []

    def measure(plan):
        calls.append(dict(plan))
        return {"kld_mean": base + sum(COST[g] for g, bits in plan.items() if bits == 4), "top1_agreement": 0.99}

    return measure, calls


def gate(check):
    return parse_gate("g", check, "test")


def test_it_demotes_the_cheapest_groups_first_and_keeps_what_would_miss_the_gate():
    measure, calls = measure_with()
    result = search(GROUPS, size_of, measure, [gate("kld_mean <= 0.01")], budget=50)
    # 0.0005 + 0.001 + 0.002 + 0.004 = 0.0075 passes; adding layers.0 (0.03) or the embedding (0.05) would not
    assert result.plan == {EMBED: 32, "layers.0": 8, "layers.1": 4, "layers.2": 4, "lm_head": 4}
    order = [c.group for c in result.candidates if c.step == "demote"]
    # cost per MB saved: the embedding saves 3 MB (float to INT4), a layer 1 MB (INT8 to INT4);
    # layers.1's demotion was its own sensitivity step, measured once
    assert order == ["layers.2", "lm_head", EMBED, "layers.0"]
    assert (
        result.sensitivity["layers.1"]
        < result.sensitivity["layers.2"]
        < result.sensitivity["lm_head"]
        < result.sensitivity[EMBED]
        < result.sensitivity["layers.0"]
    )
    assert len(calls) == len({tuple(sorted(c.items())) for c in calls})  # no plan measured twice
    record = result.to_record()
    nxt = record["candidates"][record["next_smaller"]]
    assert nxt["group"] == "layers.0" and nxt["missed"] == ["kld_mean 0.0375 not <= 0.01"]
    assert "layers.0 also at INT4) missed kld_mean 0.0375 not <= 0.01" in describe_choice(record)


def test_a_gate_no_mix_can_meet_ends_in_one_line_naming_the_smallest_kld():
    measure, _ = measure_with(base=0.02)
    with pytest.raises(SearchFailed) as caught:
        search(GROUPS, size_of, measure, [gate("kld_mean <= 0.01")], budget=50)
    message = str(caught.value)
    assert "\n" not in message and "reached kld_mean 0.02 " in message and "kld_mean 0.02 not <= 0.01" in message


def test_the_budget_bounds_the_candidates_and_the_best_so_far_is_the_answer():
    measure, calls = measure_with()
    result = search(GROUPS, size_of, measure, [gate("kld_mean <= 0.01")], budget=4)
    assert len(calls) == 4 and result.exhausted
    assert check_plan(result.plan, GROUPS, "plan") is None
    assert "budget ran out" in describe_choice(result.to_record())


def test_every_gate_is_checked_and_a_run_without_a_closeness_gate_cannot_search():
    measure, _ = measure_with()
    result = search(GROUPS, size_of, measure, [gate("kld_mean <= 1"), gate("top1_agreement >= 0.98")], budget=50)
    assert result.plan == uniform(GROUPS, 4)  # both gates pass everywhere: every group at INT4
    assert "nothing smaller was left to try" in describe_choice(result.to_record())
    with pytest.raises(SearchFailed, match=r"top1_agreement 0.99 not >= 0.995"):
        search(GROUPS, size_of, measure, [gate("kld_mean <= 1"), gate("top1_agreement >= 0.995")], budget=50)
    assert misses({"kld_mean": 0.2}, [gate("kld_mean <= 0.1"), gate("top1_agreement >= 0.9")]) == [
        "kld_mean 0.2 not <= 0.1",
        "top1_agreement None not >= 0.9",
    ]
    with pytest.raises(SearchFailed, match="needs a closeness gate"):
        search(GROUPS, size_of, measure, [], budget=50)
    gates = [
        gate("kld_mean <= 0.1"),
        gate("all_checks >= reference - 0.05"),
        gate("top1_agreement >= 0.9"),
        parse_gate("int4_only", {"check": "kld_mean <= 0.05", "precisions": ["int4"]}, "test"),
    ]
    assert [g.metric for g in closeness_gates(gates, "cpu")] == ["kld_mean", "top1_agreement"]


def test_a_plan_must_fit_the_model_in_one_line():
    from harness.errors import HarnessError

    plan = uniform(GROUPS, 4)
    with pytest.raises(
        HarnessError, match=r"^p.json: group 'layers.9' is not in this model \(it has embed, layers.0–2, lm_head\)$"
    ):
        check_plan({**plan, "layers.9": 4}, GROUPS, "p.json")
    with pytest.raises(HarnessError, match="no width for group 'lm_head'"):
        check_plan({g: b for g, b in plan.items() if g != "lm_head"}, GROUPS, "p.json")
    with pytest.raises(HarnessError, match=r"group 'embed' at 8 bits \(allowed: 4, 32\)"):
        check_plan({**plan, EMBED: 8}, GROUPS, "p.json")
    assert describe(GROUPS) == "embed, layers.0–2, lm_head"
    assert uniform(GROUPS, 8)[EMBED] == 32  # the embedding has no INT8 form: it stays in float


def test_sensitivity_probes_rank_on_part_of_the_text_and_never_judge():
    measure, verified_calls = measure_with()
    rank, probe_calls = measure_with(base=0.0004)  # a different text: a different base KLD
    result = search(GROUPS, size_of, measure, [gate("kld_mean <= 0.01")], budget=50, rank=rank)
    probes = [c for c in result.candidates if not c.verified]
    # the start once more on the probes' text (their baseline), then each group that is not at INT4 alone
    assert [c.group for c in probes] == [None, EMBED, "layers.0", "layers.1", "layers.2", "lm_head"]
    assert len(probe_calls) == len(probes) and all(c.step == "sensitivity" and not c.accepted for c in probes)
    assert result.sensitivity["layers.1"] == pytest.approx(0.001 / 1)  # KLD rise over the probes' own base, per MB
    assert all(c.verified for c in result.candidates if c.step in ("start", "demote"))
    assert len(verified_calls) == 1 + 5  # the start and one verified step per group
    assert result.plan == {EMBED: 32, "layers.0": 8, "layers.1": 4, "layers.2": 4, "lm_head": 4}
    record = result.to_record()
    assert all(record["candidates"][i]["verified"] for i in record["pareto"])
    assert record["candidates"][record["next_smaller"]]["verified"]


def test_the_demotion_stops_after_a_run_of_rejections():
    from harness.variants import search as method

    groups = [f"layers.{i}" for i in range(12)]
    cost = {g: 0.001 * (i + 1) for i, g in enumerate(groups)}  # cheapest first: layers.0, layers.1, ...

    def measure(plan):
        return {"kld_mean": sum(cost[g] for g, bits in plan.items() if bits == 4)}

    result = search(groups, lambda plan: sum(plan.values()), measure, [gate("kld_mean <= 0.0015")], budget=100)
    demoted = [c for c in result.candidates if c.step == "demote"]
    # layers.0 alone (0.001) was its own sensitivity step; every group after it misses on top of it
    assert [c.group for c in demoted] == [f"layers.{i}" for i in range(1, 1 + method.PATIENCE)]
    assert not any(c.passes for c in demoted) and result.stopped
    assert result.plan == {**uniform(groups, 8), "layers.0": 4}
    assert f"after {method.PATIENCE} groups in a row missed" in describe_choice(result.to_record())


def test_groups_that_need_float_are_promoted_before_anything_is_demoted():
    # every group at INT8 costs 0.004 each; in float it costs nothing: the start (0.02) misses 0.01
    def measure(plan):
        per = {8: 0.004, 4: 0.02, 32: 0.0}
        return {
            "kld_mean": sum(per[bits] for g, bits in plan.items() if g != EMBED) + (0.02 if plan[EMBED] == 4 else 0)
        }

    sizes = {EMBED: 3 * MB, "layers.0": MB, "layers.1": 2 * MB, "layers.2": 4 * MB, "lm_head": 8 * MB}

    def sized(plan):
        return sum(sizes[g] * bits // 8 for g, bits in plan.items())

    result = search(GROUPS, sized, measure, [gate("kld_mean <= 0.01")], budget=50)
    # most KLD gained per MB first (layers.0 gains 0.004 for 3 MB, layers.1 for 6 MB), until it passes
    assert result.promotion["layers.0"] < result.promotion["layers.1"] < result.promotion["layers.2"] < 0
    promoted = [g for g in GROUPS if result.plan[g] == 32 and g != EMBED]
    assert promoted == ["layers.0", "layers.1"] and [c.group for c in result.candidates if c.step == "promote"] == [
        "layers.1"
    ]  # layers.0 alone in float was its own probe, measured once
    assert result.plan == {EMBED: 32, "layers.0": 32, "layers.1": 32, "layers.2": 8, "lm_head": 8}
    assert result.chosen().passes and result.chosen().figures["kld_mean"] == pytest.approx(0.008)
    assert not any(c.step == "demote" and c.group in promoted for c in result.candidates)  # float stays float
    assert "so layers.0, layers.1 went to float first" in describe_choice(result.to_record())


def test_promotion_stops_at_fp16s_size_and_says_the_closest_kld():
    groups = [EMBED, *(f"layers.{i}" for i in range(8)), "lm_head"]

    def measure(plan):
        return {"kld_mean": 0.001 + 0.01 * sum(1 for bits in plan.values() if bits != 32)}

    def sized(plan):  # FP32 is 40 MB: a mix may grow to 20 MB; the start is 13, each group in float adds 3
        return sum({4: MB // 2, 8: MB, 32: 4 * MB}[bits] for bits in plan.values())

    with pytest.raises(SearchFailed) as caught:
        search(groups, sized, measure, [gate("kld_mean <= 0.005")], budget=50)
    message = str(caught.value)
    # every group in float would pass (0.001), but that is FP32, not a mix
    assert "\n" not in message and "every group at INT8 reached kld_mean 0.091" in message
    assert "the closest, with groups in float up to FP16's size, reached kld_mean 0.071" in message
