"""harness.ship.recommend: which precision to ship per provider, and the sentence that says why.

The runs are written out by hand; every expected figure and sentence is worked out in the test."""

import pytest

from harness.ship.recommend import recommend


def _variant(vid, size_mb=None, status="passed", machine=None):
    precision, provider = vid.split("-")
    variant = {"id": vid, "precision": precision, "provider": provider, "status": status}
    if size_mb is not None:
        variant["size_bytes"] = int(size_mb * 1e6)
    if machine is not None:
        variant["machine"] = machine
    return variant


def _m(variant, name, value, interval=None):
    return {"variant": variant, "suite": "s", "name": name, "value": value, "interval": interval}


def _run(variants, measurements=(), gates=()):
    return {
        "run": {"id": "r"},
        "environment": {},
        "variants": variants,
        "measurements": list(measurements),
        "gates": {"results": [{"gate": g, "variant": v, "status": s} for g, v, s in gates]},
    }


def test_size_picks_the_smallest_eligible_and_says_why_the_rest_are_not():
    """Size: fp16 (1000 MB) wins over fp32 (2000 MB, 2x); int8 failed a gate, int4 failed a test."""
    results = _run(
        [
            _variant("fp32-cpu", 2000),
            _variant("fp16-cpu", 1000),
            _variant("int8-cpu", 600),
            _variant("int4-cpu", 400, status="failed"),
        ],
        [_m("fp16-cpu", "all_checks", 0.9), _m("fp16-cpu", "kld_mean", 0.012), _m("fp32-cpu", "all_checks", 0.95)],
        [("acc", "int8-cpu", "failed"), ("acc", "fp16-cpu", "passed"), ("acc", "fp32-cpu", "passed")],
    )
    [entry] = recommend(results)
    assert entry == {
        "provider": "cpu",
        "machine": None,
        "objective": "size",
        "objective_used": "size",
        "choice": "fp16-cpu",
        "runner_up": "fp32-cpu",
        "excluded": [("int8-cpu", "failed 1 gate(s)"), ("int4-cpu", "status failed")],
        "text": (
            "Ship **fp16-cpu** on cpu: the smallest by size on disk (1,000 MB) among the variants that passed "
            "every test and gate, with all_checks 0.900, KLD 0.012. "
            "Runner-up: fp32-cpu (2,000 MB, all_checks 0.950), at 2× the size on disk. "
            "Not eligible: int8-cpu (failed 1 gate(s)); int4-cpu (status failed)."
        ),
    }


def test_a_size_tie_goes_to_the_first_variant_by_name():
    """Equal sizes: the variant ids decide, alphabetically (int4 before int8), at 1x."""
    [entry] = recommend(_run([_variant("int8-cpu", 500), _variant("int4-cpu", 500)]))
    assert (entry["choice"], entry["runner_up"]) == ("int4-cpu", "int8-cpu")
    assert entry["text"].endswith("Runner-up: int8-cpu (500 MB, no quality measured), at 1× the size on disk.")


def test_speed_picks_the_fastest_and_prices_the_runner_up_in_slowdown():
    """Speed: int4 at 50 tokens/s over fp32 at 20 (50 / 20 = 2.5x slower); the intervals are apart."""
    results = _run(
        [_variant("fp32-cpu", 2000), _variant("int4-cpu", 500)],
        [_m("fp32-cpu", "decode_tps", 20.0, [19.0, 21.0]), _m("int4-cpu", "decode_tps", 50.0, [45.0, 55.0])],
    )
    [entry] = recommend(results, "speed")
    assert (entry["objective_used"], entry["choice"], entry["runner_up"]) == ("speed", "int4-cpu", "fp32-cpu")
    assert entry["text"] == (
        "Ship **int4-cpu** on cpu: the fastest by decode speed (50 tokens/s) among the variants "
        "that passed every test and gate, with no quality measured. "
        "Runner-up: fp32-cpu (20 tokens/s, no quality measured), at 2.5× slower decoding."
    )


@pytest.mark.parametrize("runner_ci", [[44.0, 52.0], [40.0, 45.0], [40.0, 56.0], [55.0, 60.0]])
def test_speed_says_when_the_two_fastest_are_within_noise(runner_ci):
    """Overlapping (or touching) speed intervals: the sentence says the two are within noise."""
    results = _run(
        [_variant("fp32-cpu", 2000), _variant("int4-cpu", 500)],
        [_m("fp32-cpu", "decode_tps", 48.0, runner_ci), _m("int4-cpu", "decode_tps", 50.0, [45.0, 55.0])],
    )
    [entry] = recommend(results, "speed")
    assert entry["text"].endswith(
        "Runner-up: fp32-cpu (48 tokens/s, no quality measured), at 1.04× slower decoding. "
        "Their speed intervals overlap: on this objective the two are within noise."
    )


@pytest.mark.parametrize("fast_ci", [None, [45.0, None]])
def test_speed_without_both_intervals_claims_no_overlap(fast_ci):
    """An interval missing (or open) on one side: nothing is said about noise."""
    results = _run(
        [_variant("fp32-cpu", 2000), _variant("int4-cpu", 500)],
        [_m("fp32-cpu", "decode_tps", 48.0, [44.0, 52.0]), _m("int4-cpu", "decode_tps", 50.0, fast_ci)],
    )
    [entry] = recommend(results, "speed")
    assert entry["text"].endswith("at 1.04× slower decoding.")


def test_a_variant_that_decoded_nothing_ranks_last_for_speed():
    """0 tokens/s ranks below 0.5 tokens/s; its slowdown cannot be priced (shown as a dash)."""
    results = _run(
        [_variant("fp32-cpu", 2000), _variant("int4-cpu", 500)],
        [_m("fp32-cpu", "decode_tps", 0.5), _m("int4-cpu", "decode_tps", 0.0)],
    )
    [entry] = recommend(results, "speed")
    assert (entry["choice"], entry["runner_up"]) == ("fp32-cpu", "int4-cpu")
    assert entry["text"].endswith("Runner-up: int4-cpu (0 tokens/s, no quality measured), at —× slower decoding.")


def test_sizes_unknown_still_choose_by_name_and_show_dashes():
    """No size on disk recorded: the ids decide, and the figures and the ratio read as a dash."""
    [entry] = recommend(_run([_variant("int8-cpu"), _variant("int4-cpu")]))
    assert (entry["choice"], entry["runner_up"]) == ("int4-cpu", "int8-cpu")
    assert entry["text"] == (
        "Ship **int4-cpu** on cpu: the smallest by size on disk (— MB) among the variants that "
        "passed every test and gate, with no quality measured. "
        "Runner-up: int8-cpu (— MB, no quality measured), at —× the size on disk."
    )


def test_speed_without_benchmark_figures_falls_back_to_size():
    """No decode figure for an eligible variant: size decides, and the text says so."""
    results = _run([_variant("fp32-cpu", 2000), _variant("int4-cpu", 500)], [_m("int4-cpu", "decode_tps", 50.0)])
    [entry] = recommend(results, "speed")
    assert (entry["objective"], entry["objective_used"], entry["choice"]) == ("speed", "size", "int4-cpu")
    assert entry["text"] == (
        "Ship **int4-cpu** on cpu: the smallest by size on disk (500 MB) among the variants that "
        "passed every test and gate, with no quality measured. "
        "(The speed objective needs --benchmark figures this run lacks; size decided.) "
        "Runner-up: fp32-cpu (2,000 MB, no quality measured), at 4× the size on disk."
    )


def test_memory_picks_the_lowest_peak():
    """Memory: int8 at 300 MB peak over int4 at 450 MB (1.5x), though int4 is smaller on disk."""
    results = _run(
        [_variant("int4-cpu", 400), _variant("int8-cpu", 600)],
        [
            _m("int4-cpu", "peak_rss_bytes", 450e6),
            _m("int8-cpu", "peak_rss_bytes", 300e6),
            _m("int8-cpu", "exact_match", 0.75),
        ],
    )
    [entry] = recommend(results, "memory")
    assert entry["text"] == (
        "Ship **int8-cpu** on cpu: the smallest by peak memory (300 MB) among the variants that "
        "passed every test and gate, with exact_match 0.750. "
        "Runner-up: int4-cpu (450 MB, no quality measured), at 1.5× the peak memory."
    )


def test_one_eligible_variant_has_no_runner_up():
    """A single eligible variant: chosen, no runner-up sentence."""
    [entry] = recommend(_run([_variant("int4-cpu", 500)]))
    assert (entry["choice"], entry["runner_up"]) == ("int4-cpu", None)
    assert entry["text"] == (
        "Ship **int4-cpu** on cpu: the smallest by size on disk (500 MB) among the variants that "
        "passed every test and gate, with no quality measured."
    )


def test_nothing_eligible_says_what_each_variant_lacked():
    """No variant passed everything: no choice, each variant with its reason."""
    results = _run(
        [_variant("fp32-cpu", 2000, status="failed"), _variant("int4-cpu", 500)],
        [],
        [("a", "int4-cpu", "failed"), ("b", "int4-cpu", "failed"), ("c", "int4-cpu", "passed")],
    )
    [entry] = recommend(results)
    assert (entry["choice"], entry["runner_up"]) == (None, None)
    assert entry["excluded"] == [("fp32-cpu", "status failed"), ("int4-cpu", "failed 2 gate(s)")]
    assert entry["text"] == (
        "Nothing to ship on cpu: no variant passed every test and gate "
        "(fp32-cpu: status failed; int4-cpu: failed 2 gate(s))."
    )


def test_a_skipped_variant_is_not_eligible():
    """Only status 'passed' is eligible: a skipped or unsupported variant is excluded by its status."""
    [entry] = recommend(_run([_variant("fp16-cpu", 1000, status="unsupported"), _variant("fp32-cpu", 2000)]))
    assert entry["choice"] == "fp32-cpu" and entry["excluded"] == [("fp16-cpu", "status unsupported")]


def test_one_recommendation_per_provider_and_machine():
    """A merged run: one entry per (machine, provider), in the order first seen, each among its own."""
    results = _run(
        [
            _variant("int4-cpu", 500, machine="A"),
            _variant("int4-cuda", 600, machine="A"),
            _variant("int8-cpu", 300, machine="B"),
            _variant("int4-cpu", 400, machine="B"),
        ]
    )
    entries = recommend(results)
    assert [(e["machine"], e["provider"], e["choice"], e["runner_up"]) for e in entries] == [
        ("A", "cpu", "int4-cpu", None),
        ("A", "cuda", "int4-cuda", None),
        ("B", "cpu", "int8-cpu", "int4-cpu"),
    ]
    assert entries[1]["text"].startswith(
        "Ship **int4-cuda** on cuda of machine A: the smallest by size on disk (600 MB)"
    )


def test_a_provider_with_nothing_to_ship_does_not_hide_the_next():
    """cuda has no eligible variant, cpu has one: both get their entry."""
    results = _run([_variant("int4-cuda", 500, status="failed"), _variant("int4-cpu", 500)])
    assert [(e["provider"], e["choice"]) for e in recommend(results)] == [("cuda", None), ("cpu", "int4-cpu")]


def test_an_unknown_objective_is_refused():
    """Only size, speed and memory are objectives."""
    with pytest.raises(ValueError, match=r"^unknown objective 'cost' \(choose from size, speed, memory\)$"):
        recommend(_run([]), "cost")


GATES = [
    {"name": "acc", "check": "all_checks >= 0.9", "precisions": [], "providers": []},
    {"name": "int4_only", "check": "kld_mean <= 0.1", "precisions": ["int4"], "providers": []},
]


def _gated(results, definitions=GATES):
    results["gates"]["definitions"] = definitions
    return results


def test_no_recommendation_while_a_gate_that_applies_was_not_judged():
    """Gate tests deselected (-k smoke): every variant passed its tests, no gate was judged, and no
    release decision is made; the text names what is missing."""
    [entry] = recommend(_gated(_run([_variant("fp32-cpu", 2000), _variant("int4-cpu", 400)])))
    assert entry["choice"] is None
    assert entry["text"] == (
        "No recommendation on cpu: a recommendation needs every release gate judged, and "
        "fp32-cpu was not judged on acc; int4-cpu was not judged on acc, int4_only in this run "
        "(the gate tests were deselected or not reached)."
    )


def test_variants_missing_the_same_gates_share_one_clause():
    [entry] = recommend(_gated(_run([_variant("fp32-cpu", 2000), _variant("fp16-cpu", 1000)])))
    assert "and fp32-cpu, fp16-cpu were not judged on acc in this run" in entry["text"]


def test_one_variant_with_a_missing_gate_stops_the_recommendation_for_its_provider():
    """int4 lacks its own gate: shipping fp32 by default would hide that the smaller variant was never judged."""
    results = _gated(
        _run(
            [_variant("fp32-cpu", 2000), _variant("int4-cpu", 400)],
            gates=[("acc", "fp32-cpu", "passed"), ("acc", "int4-cpu", "passed")],
        )
    )
    [entry] = recommend(results)
    assert entry["choice"] is None and entry["excluded"] == [("int4-cpu", "gates not judged in this run: int4_only")]


def test_a_gate_whose_suite_did_not_run_was_not_judged():
    """Not applicable only because its suite was deselected counts as not judged; not applicable by
    design (the reference compared with itself) counts as judged."""
    results = _gated(_run([_variant("fp32-cpu", 2000), _variant("int4-cpu", 400)]), GATES[:1])
    results["gates"]["results"] = [
        {"gate": "acc", "variant": "fp32-cpu", "status": "not_applicable"},
        {"gate": "acc", "variant": "int4-cpu", "status": "not_applicable", "unmeasured": "suite"},
    ]
    assert recommend(results)[0]["choice"] is None
    results["gates"]["results"][1] = {"gate": "acc", "variant": "int4-cpu", "status": "passed"}
    assert recommend(results)[0]["choice"] == "int4-cpu"


def test_gates_left_out_without_benchmark_are_said_in_the_sentence():
    results = _gated(_run([_variant("int4-cpu", 400)]), GATES[:1])
    results["gates"]["results"] = [
        {"gate": "acc", "variant": "int4-cpu", "status": "not_applicable", "unmeasured": "benchmark"}
    ]
    [entry] = recommend(results)
    assert entry["choice"] == "int4-cpu"
    assert entry["text"].endswith(
        "Judged without --benchmark: the performance gate acc did not take part in this decision."
    )


def test_a_merged_run_needs_each_machines_own_gates_judged():
    """Definitions carry their machine: machine A's gate says nothing about machine B's variants."""
    results = _gated(
        _run(
            [_variant("int4-cpu", 500, machine="A"), _variant("int4-cpu", 400, machine="B")],
            gates=[("acc", "int4-cpu", "passed")],
        ),
        [{**GATES[0], "machine": "A"}, {**GATES[0], "machine": "B"}],
    )
    results["variants"][0]["id"], results["variants"][1]["id"] = "int4-cpu@A", "int4-cpu@B"
    results["gates"]["results"] = [{"gate": "acc", "variant": "int4-cpu@A", "status": "passed"}]
    entries = recommend(results)
    assert [(e["machine"], e["choice"]) for e in entries] == [("A", "int4-cpu@A"), ("B", None)]
