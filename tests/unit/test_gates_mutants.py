"""Gates: the exact verdicts, messages and records of judge() and parse_gate(), on the paths that
mutation testing found unpinned. Measurements are written out by hand as plain records."""

import pytest

from harness.errors import HarnessError
from harness.gates.judge import Judgement, judge, strict
from harness.gates.spec import load_gates, parse_gate, parse_gates
from harness.results.view import GateResult

INT4 = {"id": "int4-cpu", "precision": "int4", "provider": "cpu"}
FP32 = {"id": "fp32-cpu", "precision": "fp32", "provider": "cpu"}


def _m(name, value, interval=None, variant="int4-cpu", suite="quality", **extra):
    return {"variant": variant, "suite": suite, "name": name, "value": value, "interval": interval, **extra}


def _run(*measurements, fingerprint="m1", run_id="run-a", **more):
    return {
        "run": {"id": run_id},
        "environment": {"machine_fingerprint": fingerprint},
        "measurements": list(measurements),
        "variants": [],
        **more,
    }


# ---------------------------------------------------------------------------------------------
# judge(): records and messages


def test_a_passed_gate_records_every_field():
    """The record of a passed gate: names, status, message, and the check with value, bound and threshold."""
    gate = parse_gate("acc", "exact_match >= 0.75", "t")
    verdict = judge(gate, INT4, _run(_m("exact_match", 0.8, [0.49, 0.94])), reference=None)
    text = "int4-cpu exact_match = 0.8 [0.49, 0.94] is >= 0.75"
    assert verdict.to_record(gate) == {
        "gate": "acc",
        "variant": "int4-cpu",
        "check": "exact_match >= 0.75",
        "status": "passed",
        "passed": True,
        "judged": True,
        "message": f"gate 'acc': {text}",
        "measurements": [
            {
                "name": "exact_match",
                "value": 0.8,
                "interval": [0.49, 0.94],
                "used": 0.8,
                "threshold": 0.75,
                "passed": True,
                "message": text,
            }
        ],
    }


def test_a_failed_gate_record_says_not_passed():
    """A failed gate's record: passed False, still judged, the gate and variant named."""
    gate = parse_gate("acc", "exact_match >= 0.85", "t")
    record = judge(gate, INT4, _run(_m("exact_match", 0.8)), reference=None).to_record(gate)
    assert (record["gate"], record["variant"], record["status"], record["passed"], record["judged"]) == (
        "acc",
        "int4-cpu",
        "failed",
        False,
        True,
    )
    assert record["message"] == "gate 'acc' (exact_match >= 0.85): int4-cpu exact_match = 0.8 is not >= 0.85"


def test_a_figure_without_interval_is_shown_alone():
    """No interval: the value alone, judged on the value even for an interval gate."""
    gate = parse_gate("k", {"check": "kld_mean <= 1", "interval": True}, "t")
    verdict = judge(gate, INT4, _run(_m("kld_mean", 0.02)), reference="fp32-cpu")
    assert verdict.status == "passed" and verdict.message == "gate 'k': int4-cpu kld_mean = 0.02 is <= 1"
    assert verdict.checks == [
        {
            "name": "kld_mean",
            "value": 0.02,
            "interval": None,
            "used": 0.02,
            "threshold": 1.0,
            "passed": True,
            "message": "int4-cpu kld_mean = 0.02 is <= 1",
        }
    ]


def test_an_interval_gate_with_greater_than_uses_the_lower_bound():
    """'>' is judged on the lower bound, as '>=' is: 0.76 is not > 0.9 although the value 0.95 is."""
    gate = parse_gate("acc", {"check": "exact_match > 0.9", "interval": True}, "t")
    verdict = judge(gate, INT4, _run(_m("exact_match", 0.95, [0.76, 0.99])), reference=None)
    assert verdict.message == (
        "gate 'acc' (exact_match > 0.9): int4-cpu exact_match = 0.95 [0.76, 0.99]; lower bound 0.76 is not > 0.9"
    )


def test_an_interval_gate_with_less_or_equal_uses_the_upper_bound():
    """'<=' is judged on the upper bound: 0.028 is not <= 0.025 although the value 0.02 is."""
    gate = parse_gate("kld", {"check": "kld_mean <= 0.025", "interval": True}, "t")
    verdict = judge(gate, INT4, _run(_m("kld_mean", 0.02, [0.012, 0.028])), reference="fp32-cpu")
    assert verdict.message == (
        "gate 'kld' (kld_mean <= 0.025): int4-cpu kld_mean = 0.02 [0.012, 0.028]; upper bound 0.028 is not <= 0.025"
    )


def test_a_glob_gate_joins_every_match_in_its_message():
    """Two matches: both checks kept, their texts joined with '; ', whether they pass or fail."""
    results = _run(
        _m("decode_tps", 50.0, [48.0, 52.0], suite="latency"),
        _m("decode_tps@16", 10.0, [9.0, 11.0], suite="input_length"),
    )
    ok = judge(parse_gate("g", "decode_tps* >= 5", "t"), INT4, results, reference=None)
    assert (ok.gate, ok.variant, ok.status, len(ok.checks)) == ("g", "int4-cpu", "passed", 2)
    assert ok.message == (
        "gate 'g': int4-cpu decode_tps = 50 [48, 52] is >= 5; int4-cpu decode_tps@16 = 10 [9, 11] is >= 5"
    )
    bad = judge(parse_gate("g", "decode_tps* >= 100", "t"), INT4, results, reference=None)
    assert (bad.gate, bad.variant, bad.status) == ("g", "int4-cpu", "failed")
    assert bad.message == (
        "gate 'g' (decode_tps* >= 100): int4-cpu decode_tps = 50 [48, 52] is not >= 100; "
        "int4-cpu decode_tps@16 = 10 [9, 11] is not >= 100"
    )


def test_the_reference_judged_against_itself_is_not_applicable():
    """A reference-relative gate on the reference: not applicable, named, with the reason."""
    gate = parse_gate("drop", "exact_match >= reference - 0.05", "t")
    verdict = judge(gate, FP32, _run(_m("exact_match", 1.0, variant="fp32-cpu")), reference="fp32-cpu")
    assert (verdict.gate, verdict.variant, verdict.status, verdict.judged) == (
        "drop",
        "fp32-cpu",
        "not_applicable",
        True,
    )
    assert verdict.message == (
        "gate 'drop' (exact_match >= reference - 0.05): not applicable: "
        "fp32-cpu is the reference (compared with itself)"
    )


def test_a_run_without_measurements_is_judged_not_crashed():
    """A results dictionary with no measurements at all: the suite did not run, so not applicable."""
    verdict = judge(parse_gate("acc", "exact_match >= 0.5", "t"), INT4, {"run": {"id": "r"}}, reference=None)
    assert verdict.status == "not_applicable"
    assert verdict.message.endswith("its suite (test_quality.py) did not run for int4-cpu in this run")


def test_a_missing_figure_names_the_failed_tests_and_a_close_name():
    """Unjudged: the failed or erroring tests of the variant, joined, and the nearest measured name."""
    variant = {
        **INT4,
        "tests": {
            "test_latency.py::test_b": "error",
            "test_latency.py::test_a": "failed",
            "test_latency.py::test_c": "passed",
        },
    }
    results = _run(_m("decode_tps@16", 10.0, suite="input_length"), _m("ttft_ms", 5.0, variant="fp32-cpu"))
    verdict = judge(parse_gate("speed", "decode_tps >= 1", "t"), variant, results, reference=None, benchmark=True)
    assert (verdict.gate, verdict.variant, verdict.status, verdict.judged) == ("speed", "int4-cpu", "failed", False)
    assert verdict.message == (
        "gate 'speed' (decode_tps >= 1) could not be judged: decode_tps was not measured "
        "for int4-cpu (failed tests of int4-cpu: test_latency.py::test_a, "
        "test_latency.py::test_b); did you mean 'decode_tps@16'?"
    )


def test_a_missing_figure_without_failures_or_hint_says_only_that():
    """Unjudged with nothing more to say: no empty list of failed tests, no hint."""
    variant = {**INT4, "tests": {"test_latency.py::test_a": "passed"}}
    verdict = judge(parse_gate("speed", "decode_tps >= 1", "t"), variant, _run(), reference=None, benchmark=True)
    assert verdict.message == (
        "gate 'speed' (decode_tps >= 1) could not be judged: decode_tps was not measured for int4-cpu"
    )


def test_a_figure_without_value_could_not_be_judged():
    """A NaN value: unjudged, saying which figure of which variant."""
    verdict = judge(parse_gate("k", "kld_mean <= 1", "t"), INT4, _run(_m("kld_mean", float("nan"))), reference=None)
    assert verdict.message == "gate 'k' (kld_mean <= 1) could not be judged: kld_mean of int4-cpu has no value"


def test_one_name_from_two_suites_must_be_qualified():
    """The same name from two suites for one variant is ambiguous: an error naming both suites."""
    results = _run(_m("exact_match", 0.8, suite="smoke"), _m("exact_match", 0.9, suite="quality"))
    with pytest.raises(
        HarnessError,
        match=r"^metric 'exact_match' is measured by several suites \(quality, smoke\) "
        r"for int4-cpu; write it as suite:exact_match$",
    ):
        judge(parse_gate("acc", "exact_match >= 0.5", "t"), INT4, results, reference=None)
    qualified = judge(parse_gate("acc", "quality:exact_match >= 0.85", "t"), INT4, results, reference=None)
    assert qualified.status == "passed"


# ---------------------------------------------------------------------------------------------
# judge(): thresholds relative to the reference or a baseline


def test_the_reference_own_figure_wins_over_the_paired_one():
    """When the reference measured the metric, its figure sets the threshold, not the paired answers' one."""
    results = _run(
        _m("exact_match", 1.0, variant="fp32-cpu"),
        _m("exact_match", 0.9, reference_figure={"variant": "fp32-cpu", "value": 0.8}),
    )
    verdict = judge(parse_gate("drop", "exact_match >= reference - 0.05", "t"), INT4, results, reference="fp32-cpu")
    assert verdict.status == "failed" and verdict.checks[0]["threshold"] == pytest.approx(0.95)
    assert verdict.message.endswith("is not >= 0.95 (reference fp32-cpu 1 - 0.05)")


def test_a_positive_offset_reads_plus():
    """'reference + 0.01' and 'reference + 0' both read as plus in the explanation."""
    results = _run(_m("exact_match", 0.8, variant="fp32-cpu"), _m("exact_match", 0.9))
    up = judge(parse_gate("g", "exact_match >= reference + 0.01", "t"), INT4, results, reference="fp32-cpu")
    assert up.message == "gate 'g': int4-cpu exact_match = 0.9 is >= 0.81 (reference fp32-cpu 0.8 + 0.01)"
    same = judge(parse_gate("g", "exact_match >= reference + 0", "t"), INT4, results, reference="fp32-cpu")
    assert same.message == "gate 'g': int4-cpu exact_match = 0.9 is >= 0.8 (reference fp32-cpu 0.8 + 0)"


def test_a_reference_without_the_figure_says_how_to_get_it():
    """The reference did not measure the metric: unjudged, telling which precision to add."""
    verdict = judge(
        parse_gate("acc", "exact_match >= reference - 0.05", "t"),
        INT4,
        _run(_m("exact_match", 0.9), reference_precision="fp32"),
        reference="fp32-cpu",
    )
    assert verdict.message == (
        "gate 'acc' (exact_match >= reference - 0.05) could not be judged: reference fp32-cpu "
        "has no exact_match for comparison (add fp32 to --precisions so its suites run)"
    )


def test_a_baseline_gate_without_a_baseline_is_not_applicable():
    """No --baseline: not applicable, saying which option is missing."""
    verdict = judge(
        parse_gate("speed", "decode_tps >= 0.9 * baseline", "t"),
        INT4,
        _run(_m("decode_tps", 80.0, suite="latency")),
        reference=None,
    )
    assert (verdict.gate, verdict.variant, verdict.status) == ("speed", "int4-cpu", "not_applicable")
    assert verdict.message == (
        "gate 'speed' (decode_tps >= 0.9 * baseline): not applicable: no baseline run given (option --baseline)"
    )


def test_a_baseline_from_the_same_machine_is_compared():
    """Same machine fingerprint: the performance figure is compared with the baseline's."""
    now = _run(_m("decode_tps", 95.0, suite="latency"))
    before = _run(_m("decode_tps", 100.0, suite="latency"), run_id="run-b")
    verdict = judge(
        parse_gate("speed", "decode_tps >= 0.9 * baseline", "t"), INT4, now, reference=None, baseline=before
    )
    assert verdict.message == "gate 'speed': int4-cpu decode_tps = 95 is >= 90 (0.9 × baseline run-b 100)"


def test_runs_without_an_environment_record_compare_as_one_machine():
    """Neither run recorded its machine: no fingerprint on either side, so the figures are compared."""
    now = {"run": {"id": "run-a"}, "measurements": [_m("decode_tps", 95.0, suite="latency")]}
    before = {"run": {"id": "run-b"}, "measurements": [_m("decode_tps", 100.0, suite="latency")]}
    verdict = judge(
        parse_gate("speed", "decode_tps >= 0.9 * baseline", "t"), INT4, now, reference=None, baseline=before
    )
    assert verdict.status == "passed" and verdict.checks[0]["threshold"] == pytest.approx(90.0)


def test_a_foreign_baseline_fails_every_match_with_its_reason():
    """Another machine: each matching figure fails with the refusal, each kept as a check."""
    now = _run(_m("decode_tps", 50.0, [48.0, 52.0], suite="latency"), _m("decode_tps@16", 10.0, suite="input_length"))
    before = _run(fingerprint="m2", run_id="run-b")
    verdict = judge(
        parse_gate("speed", "decode_tps* >= 0.9 * baseline", "t"), INT4, now, reference=None, baseline=before
    )
    reason = (
        "baseline run run-b was measured on another machine (m2 vs m1); performance gates refuse it "
        "(--allow-foreign-baseline to compare anyway)"
    )
    assert verdict.status == "failed"
    assert verdict.message == f"gate 'speed' (decode_tps* >= 0.9 * baseline): {reason}; {reason}"
    assert verdict.checks == [
        {"name": "decode_tps", "value": 50.0, "interval": [48.0, 52.0], "passed": False, "message": reason},
        {"name": "decode_tps@16", "value": 10.0, "interval": None, "passed": False, "message": reason},
    ]


@pytest.mark.parametrize(
    "baseline", [{"run": {"id": "run-b"}, "environment": {}}, _run(_m("ttft_ms", 5.0, suite="latency"), run_id="run-b")]
)
def test_a_baseline_without_the_figure_could_not_be_judged(baseline):
    """The baseline run has no such figure (or no measurements at all): unjudged, naming it."""
    verdict = judge(
        parse_gate("q", "exact_match >= baseline - 0.01", "t"),
        INT4,
        _run(_m("exact_match", 0.9)),
        reference=None,
        baseline=baseline,
    )
    assert verdict.judged is False
    assert verdict.message == (
        "gate 'q' (exact_match >= baseline - 0.01) could not be judged: "
        "baseline run-b has no exact_match for comparison"
    )


# ---------------------------------------------------------------------------------------------
# judge(): why a gate does not apply


def _with_set(checks):
    return _run(datasets=[{"name": "gk", "checks": checks}])


def test_a_suite_qualified_metric_is_found_missing_from_the_data_set():
    """'quality:json_schema' is still the json_schema check the data set lacks."""
    verdict = judge(
        parse_gate("fmt", "quality:json_schema >= 0.95", "t"), INT4, _with_set({"regex": 3}), reference=None
    )
    assert verdict.message.endswith("not applicable: the evaluation set gk has no record with json_schema")


def test_the_smoke_exact_match_needs_records_with_a_reference():
    """smoke_exact_match applies only if some record has a reference answer."""
    gate = parse_gate("smoke", "smoke_exact_match >= 0.5", "t")
    lacking = judge(gate, INT4, _with_set({"regex": 3}), reference=None)
    assert lacking.message.endswith("not applicable: the evaluation set gk has no record with reference")
    having = judge(gate, INT4, _with_set({"regex": 3, "reference": 2}), reference=None)
    assert having.message.endswith("not applicable: its suite (test_smoke.py) did not run for int4-cpu in this run")


def test_a_glob_over_checks_lists_every_missing_check():
    """'json_*' needs json_valid or json_schema: both named, sorted, joined with 'or'."""
    verdict = judge(parse_gate("fmt", "json_* >= 0.95", "t"), INT4, _with_set({"regex": 3}), reference=None)
    assert verdict.message.endswith("has no record with json_schema or json_valid")


def test_a_glob_over_two_suites_names_both():
    """A metric measured by two suites that did not run: both suite files named."""
    verdict = judge(parse_gate("h", "harness_* >= 0.5", "t"), INT4, _run(), reference=None)
    assert verdict.message.endswith(
        "its suite (test_overhead.py, test_foundry.py) did not run for int4-cpu in this run"
    )


def test_skipped_suite_tests_are_all_named():
    """Every test of the suite was skipped: not applicable, naming them sorted and joined."""
    variant = {**INT4, "tests": {"test_latency.py::test_b": "skipped", "test_latency.py::test_a": "skipped"}}
    verdict = judge(parse_gate("speed", "decode_tps >= 1", "t"), variant, _run(), reference=None, benchmark=True)
    assert verdict.message.endswith(
        "its suite's tests were skipped for int4-cpu (test_latency.py::test_a, test_latency.py::test_b)"
    )


# ---------------------------------------------------------------------------------------------
# Recorded outcomes and --strict-gates


@pytest.mark.parametrize(
    "status, outcome",
    [("skipped", "not_applicable"), ("passed", "passed"), ("failed", "failed"), ("not_applicable", "not_applicable")],
)
def test_a_recorded_outcome_reads_schema_2_skipped_as_not_applicable(status, outcome):
    """results.json of schema 2 wrote 'skipped'; it reads as not applicable, the rest as written."""
    assert GateResult.from_dict({"gate": "g", "variant": "v", "status": status}).outcome == outcome


@pytest.mark.parametrize(
    "record, expected",
    [
        ({"status": "failed", "judged": False}, True),
        ({"status": "failed", "judged": True}, False),
        ({"status": "failed"}, False),  # records older than 'judged' failed on a figure
        ({"status": "not_applicable", "judged": False}, False),
    ],
)
def test_unjudged_is_a_failure_for_a_missing_figure_only(record, expected):
    """Only a failed record marked judged = False failed for want of a figure."""
    assert GateResult.from_dict({"gate": "g", "variant": "v", **record}).unjudged is expected


def test_strict_keeps_the_gate_and_variant_of_what_it_fails():
    """--strict-gates turns not applicable into failed for the same gate and variant."""
    failed = strict(Judgement("g", "int4-cpu", "not_applicable", "why"))
    assert (failed.gate, failed.variant, failed.status, failed.judged) == ("g", "int4-cpu", "failed", False)
    assert failed.message == "why (not applicable, and --strict-gates requires every gate judged)"


# ---------------------------------------------------------------------------------------------
# parse_gate() and load_gates()


def test_a_gate_reads_its_scope_description_and_origin():
    """Every option of a table gate lands in the Gate, and its record lists them."""
    gate = parse_gate(
        "g",
        {"check": "kld_mean <= 1", "precisions": "int4", "providers": ["cpu", "cuda"], "description": "close"},
        "from here",
    )
    assert (gate.precisions, gate.providers, gate.description, gate.origin) == (
        ("int4",),
        ("cpu", "cuda"),
        "close",
        "from here",
    )
    assert gate.to_record() == {
        "name": "g",
        "check": "kld_mean <= 1",
        "precisions": ["int4"],
        "providers": ["cpu", "cuda"],
        "interval": False,
        "description": "close",
    }
    plain = parse_gate("g", "kld_mean <= 1", "t")
    assert (plain.precisions, plain.providers, plain.description) == ((), (), "")


def test_a_provider_scope_selects_variants():
    """providers = ["cpu"]: applies to a cpu variant, not to a cuda one."""
    gate = parse_gate("g", {"check": "kld_mean <= 1", "providers": ["cpu"]}, "t")
    assert gate.applies_to(INT4) and not gate.applies_to({"precision": "int4", "provider": "cuda"})


@pytest.mark.parametrize(
    "spec, message",
    [
        (
            {"check": "kld_mean <= 1", "when": 1, "why": 2},
            "unknown option 'when', 'why' (known: check, precisions, providers, interval, description)",
        ),
        ({"description": "no check"}, 'cannot read None; expected e.g. "exact_match >= 0.85"'),
        (
            {"check": "kld_mean <= 1", "providers": ["gpu", "tpu"]},
            "providers: unknown 'gpu', 'tpu' (choose from cpu, cuda, dml, webgpu)",
        ),
        ({"check": "kld_mean <= 1", "precisions": 5}, "precisions: expected a list of names"),
        ({"check": "kld_mean <= 1", "precisions": [4]}, "precisions: expected a list of names"),
        (
            "decode_tps.* <= 1",
            ("unknown metric 'decode_tps.*' (did you mean 'decode_tps'?; metrics: docs/reference/metrics.md)"),
        ),
    ],
)
def test_a_bad_gate_message_in_full(spec, message):
    """The whole message, after where the gate came from (a near glob name is never the hint)."""
    with pytest.raises(HarnessError) as info:
        parse_gate("g", spec, "t")
    assert str(info.value) == f"t: gate 'g': {message}"


def test_an_unknown_metric_with_no_near_name_points_to_the_list():
    """No close name: no hint, the message still ends with where the metrics are listed."""
    with pytest.raises(HarnessError) as info:
        parse_gate("g", "zzz <= 1", "t")
    assert str(info.value) == "t: gate 'g': unknown metric 'zzz' (metrics: docs/reference/metrics.md)"


def test_gates_must_be_a_table():
    """A gates value that is not a table is refused, naming where it came from."""
    with pytest.raises(HarnessError) as info:
        parse_gates(["kld_mean <= 1"], "p.toml")
    assert str(info.value) == 'p.toml: gates must be a table of name = "METRIC OP THRESHOLD"'


def test_each_gate_knows_where_it_came_from(tmp_path):
    """origin: the gates file, the project's table, or the built-in defaults."""
    path = tmp_path / "gates.toml"
    path.write_text('quick = "decode_tps >= 100"\n')
    assert [g.origin for g in load_gates(path, {}, "x")[0]] == [str(path)]
    gates, _ = load_gates(None, {"gates": {"a": "kld_mean <= 1"}}, "[tool.harness] in p.toml")
    assert [g.origin for g in gates] == ["[tool.harness.gates] in p.toml"]
    gates, _ = load_gates(None, {}, "[tool.harness]")
    assert {g.origin for g in gates} == {"built-in default gates"}


def test_a_missing_gates_file_names_the_option(tmp_path):
    """--gates-file naming no file: one line saying it is the gates file, which file, and the option."""
    path = tmp_path / "none.toml"
    with pytest.raises(HarnessError) as info:
        load_gates(path, {}, "x")
    assert str(info.value) == f"cannot read gates file {path} (option --gates-file): No such file or directory"
