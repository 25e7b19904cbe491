"""Gates: how they are read, and how they judge a run's measurements."""

import pytest

from harness.errors import HarnessError
from harness.gates.judge import judge
from harness.gates.spec import DEFAULT_GATES, load_gates, parse_gate, parse_gates
from harness.measure.records import estimate, measurement, proportion


def _results(fingerprint="m1", run_id="run-a", **values):
    measurements = []
    for key, outcomes in values.items():
        variant, name = key.split("__")
        if name == "exact_match":
            measurements.append(proportion(variant.replace("_", "-"), "quality", name, outcomes))
        elif name == "kld_mean":
            measurements.append(estimate(variant.replace("_", "-"), "quality", name, "nats/token", *outcomes))
        else:
            measurements.append(measurement(variant.replace("_", "-"), "latency", name, "tokens/s", outcomes))
    return {
        "run": {"id": run_id},
        "environment": {"machine_fingerprint": fingerprint},
        "measurements": measurements,
        "variants": [],
    }


INT4 = {"id": "int4-cpu", "precision": "int4", "provider": "cpu"}


@pytest.mark.parametrize(
    "check, form, k, base",
    [
        ("exact_match >= 0.85", "absolute", 0.85, None),
        ("exact_match >= reference - 0.03", "offset", -0.03, "reference"),
        ("decode_tps >= 0.9 * baseline", "scale", 0.9, "baseline"),
        ("decode_tps >= baseline * 0.9", "scale", 0.9, "baseline"),
        ("ttft_ms <= baseline", "scale", 1.0, "baseline"),
        ("leak_kib_per_iter_* <= 64", "absolute", 64, None),
        ("latency:decode_tps > 1e3", "absolute", 1000.0, None),
    ],
)
def test_gate_expressions(check, form, k, base):
    gate = parse_gate("g", check, "test")
    assert (gate.form, gate.k, gate.base) == (form, pytest.approx(k), base)
    assert parse_gate("g", gate.check, "test") == gate  # the canonical text reads back the same


@pytest.mark.parametrize(
    "spec, message",
    [
        ("exact_match => 0.8", "cannot read 'exact_match => 0.8'"),
        ("exact_match >= ref - 0.1", "cannot read the threshold 'ref - 0.1'"),
        ("leak_kib_per_iter <= 64", "unknown metric 'leak_kib_per_iter' \\(did you mean 'leak_kib_per_iter_fresh'"),
        ({"check": "kld_mean <= 1", "precision": ["int4"]}, "unknown option 'precision'"),
        ({"check": "kld_mean <= 1", "precisions": ["int3"]}, "unknown 'int3'"),
        ({"check": "kld_mean <= 1", "interval": "yes"}, "'interval' must be true, false or \"lenient\""),
        (5, 'expected "METRIC OP THRESHOLD"'),
    ],
)
def test_a_bad_gate_is_named_with_where_it_came_from(spec, message):
    with pytest.raises(HarnessError, match=message) as info:
        parse_gate("fast", spec, "[tool.harness.gates] in pyproject.toml")
    assert str(info.value).startswith("[tool.harness.gates] in pyproject.toml: gate 'fast'")


def test_gates_come_from_a_file_then_the_project_then_the_defaults(tmp_path):
    path = tmp_path / "gates.toml"
    path.write_text('[gates]\nquick = "decode_tps >= 100"\n')
    assert [g.name for g in load_gates(path, {}, "x")[0]] == ["quick"]
    path.write_text('quick = "decode_tps >= 100"\nslow = { check = "ttft_ms <= 50", providers = ["cpu"] }\n')
    gates, origin = load_gates(path, {"gates": {"other": "kld_mean <= 1"}}, "[tool.harness]")
    assert [g.name for g in gates] == ["quick", "slow"] and origin == str(path)
    gates, origin = load_gates(None, {"gates": {"other": "kld_mean <= 1"}}, "[tool.harness] in p.toml")
    assert [g.name for g in gates] == ["other"] and origin == "[tool.harness.gates] in p.toml"
    gates, origin = load_gates(None, {}, "[tool.harness]")
    assert [g.name for g in gates] == list(DEFAULT_GATES) and origin == "built-in default gates"


def test_absolute_gate_fails_with_metric_variant_value_interval_and_threshold():
    results = _results(int4_cpu__exact_match=[True] * 8 + [False] * 2)
    verdict = judge(parse_gate("acc", "exact_match >= 0.85", "t"), INT4, results, reference="fp32-cpu")
    assert verdict.status == "failed"
    assert verdict.message == (
        "gate 'acc' (exact_match >= 0.85): int4-cpu exact_match = 0.8 [0.4902, 0.9433] is not >= 0.85"
    )
    assert judge(parse_gate("acc", "exact_match >= 0.75", "t"), INT4, results, reference=None).status == "passed"


def test_interval_gate_needs_the_bound_to_clear_the_threshold():
    results = _results(int4_cpu__exact_match=[True] * 19 + [False])
    plain = parse_gate("acc", "exact_match >= 0.9", "t")
    strict = parse_gate("acc", {"check": "exact_match >= 0.9", "interval": True}, "t")
    assert judge(plain, INT4, results, reference=None).status == "passed"
    verdict = judge(strict, INT4, results, reference=None)
    assert verdict.status == "failed" and "= 0.95 [0.7639, 0.9911]; lower bound 0.7639 is not >= 0.9" in verdict.message


def test_a_lenient_interval_gate_fails_only_an_established_miss():
    """interval = "lenient" uses the side that must miss the threshold (a leak: the slope's lower
    bound above it); true uses the side that must clear it, and the plain gate the value."""
    results = _results(int4_cpu__decode_tps=[1.0] * 3)
    base = results["measurements"][0]
    for value, interval, plain, strict, lenient in (
        (10.0, [2.0, 18.0], "passed", "failed", "passed"),
        (20.0, [12.0, 28.0], "failed", "failed", "passed"),
        (30.0, [20.0, 40.0], "failed", "failed", "failed"),
        (5.0, [1.0, 9.0], "passed", "passed", "passed"),
    ):
        results["measurements"] = [
            {**base, "name": "leak_kib_per_iter_fresh", "suite": "soak", "value": value, "interval": interval}
        ]
        for spec, expected in (
            ("leak_kib_per_iter_* <= 16", plain),
            ({"check": "leak_kib_per_iter_* <= 16", "interval": True}, strict),
            ({"check": "leak_kib_per_iter_* <= 16", "interval": "lenient"}, lenient),
        ):
            assert judge(parse_gate("leak", spec, "t"), INT4, results, reference=None).status == expected, (value, spec)
    lenient = judge(
        parse_gate("leak", {"check": "leak_kib_per_iter_* <= 16", "interval": "lenient"}, "t"),
        INT4,
        results,
        reference=None,
    )
    assert "lower bound 1 is <= 16" in lenient.message
    assert (
        parse_gate("leak", {"check": "leak_kib_per_iter_* <= 16", "interval": "lenient"}, "t").to_record()["interval"]
        == "lenient"
    )


def test_relative_to_the_reference_and_not_applicable_by_design():
    results = _results(
        fp32_cpu__exact_match=[True] * 10, int4_cpu__exact_match=[True] * 9 + [False], int4_cpu__kld_mean=(0.02, 0.004)
    )
    drop = parse_gate("drop", "exact_match >= reference - 0.05", "t")
    verdict = judge(drop, INT4, results, reference="fp32-cpu")
    assert verdict.status == "failed" and "(reference fp32-cpu 1 - 0.05)" in verdict.message
    kld = parse_gate("kld", {"check": "kld_mean <= 0.025", "interval": True}, "t")
    assert judge(kld, INT4, results, reference="fp32-cpu").status == "failed"  # upper bound 0.0278
    fp32 = {"id": "fp32-cpu", "precision": "fp32", "provider": "cpu"}
    itself = judge(kld, fp32, results, reference="fp32-cpu")
    assert itself.status == "not_applicable" and itself.judged
    assert itself.message == (
        "gate 'kld' (kld_mean <= 0.025): not applicable: the reference is not compared with itself"
    )
    assert judge(drop, fp32, results, reference="fp32-cpu").status == "not_applicable"
    with pytest.raises(HarnessError, match=r"gate 't': unknown metric 'kld_maen' \(did you mean 'kld_mean'\?"):
        parse_gate("t", "kld_maen <= 1", "t")
    perf = judge(parse_gate("t", "decode_tps >= 1", "t"), fp32, results, reference="fp32-cpu", benchmark=False)
    assert perf.status == "not_applicable"
    assert perf.message.endswith("not applicable: performance suites run only with --benchmark")


def test_a_missing_measurement_could_not_be_judged_and_fails():
    results = _results(fp32_cpu__exact_match=[True] * 10)
    variant = {
        **INT4,
        "tests": {"test_quality.py::test_task_quality": "failed", "test_smoke.py::test_answers_prompts": "passed"},
    }
    gate = parse_gate("acc", "exact_match >= reference - 0.05", "t")
    verdict = judge(gate, variant, results, reference="fp32-cpu", benchmark=True)
    assert verdict.status == "failed" and verdict.judged is False
    assert verdict.message == (
        "gate 'acc' (exact_match >= reference - 0.05) could not be judged: exact_match was "
        "not measured for int4-cpu (failed tests of int4-cpu: "
        "test_quality.py::test_task_quality)"
    )
    assert verdict.to_record(gate)["judged"] is False and verdict.to_record(gate)["passed"] is False
    speed = parse_gate("t", "decode_tps >= 1", "t")
    ran = {**INT4, "tests": {"test_latency.py::test_latency": "passed"}}  # it ran, and recorded nothing
    assert judge(speed, ran, results, reference="fp32-cpu", benchmark=True).judged is False
    skipped = {**INT4, "tests": {"test_latency.py::test_latency": "skipped"}}
    assert judge(speed, skipped, results, reference="fp32-cpu", benchmark=True).status == "not_applicable"
    unrun = judge(speed, INT4, results, reference="fp32-cpu", benchmark=True)  # deselected (-k)
    assert unrun.status == "not_applicable"
    assert unrun.message.endswith("its suite (test_latency.py) did not run for int4-cpu in this run")
    nan = _results(int4_cpu__kld_mean=(float("nan"), 0.0))
    assert judge(parse_gate("k", "kld_mean <= 1", "t"), INT4, nan, reference="fp32-cpu").judged is False
    # a relative gate whose reference has no figure, and a variant with no runnable reference
    only_int4 = _results(int4_cpu__exact_match=[True] * 10)
    verdict = judge(gate, INT4, only_int4, reference="fp32-cpu")
    assert verdict.status == "failed" and "reference fp32-cpu has no exact_match" in verdict.message
    assert judge(gate, INT4, only_int4, reference=None).judged is False


def test_a_relative_gate_uses_the_reference_answers_paired_with_the_variant():
    from harness.measure.quality import task_measurements

    answers = [{"id": str(i), "scores": {"exact_match": i < 9, "all_checks": i < 9}} for i in range(10)]
    reference = [{"id": str(i), "scores": {"exact_match": True, "all_checks": True}} for i in range(10)]
    records = task_measurements("int4-cpu", answers, "fp32-cpu", reference)
    results = {"run": {"id": "r"}, "environment": {}, "measurements": records, "variants": []}
    verdict = judge(parse_gate("em", "exact_match >= 0.99 * reference", "t"), INT4, results, reference="fp32-cpu")
    assert verdict.status == "failed"  # 0.9 against 0.99 x 1.0, the reference's share on the same ten
    assert "(0.99 × reference fp32-cpu (its answers to the same examples) 1)" in verdict.message
    ok = judge(parse_gate("em", "exact_match >= reference - 0.1", "t"), INT4, results, reference="fp32-cpu")
    assert ok.status == "passed"


def test_a_check_the_data_set_lacks_is_not_applicable_and_strict_fails_it():
    from harness.gates.judge import strict

    results = _results(int4_cpu__exact_match=[True] * 10)
    results["datasets"] = [{"name": "general_knowledge", "checks": {"regex": 10, "all_checks": 10}}]
    gate = parse_gate("fmt", "json_schema >= 0.95", "t")
    verdict = judge(gate, INT4, results, reference="fp32-cpu")
    assert verdict.status == "not_applicable"
    assert verdict.message.endswith("the evaluation set general_knowledge has no record with json_schema")
    failed = strict(verdict)
    assert failed.status == "failed" and "--strict-gates" in failed.message and failed.judged is False
    results["datasets"][0]["checks"]["json_schema"] = 3  # the set has the check: missing is a gap
    ran = {**INT4, "tests": {"test_quality.py::test_task_quality": "passed"}}
    assert judge(gate, ran, results, reference="fp32-cpu").judged is False
    assert strict(judge(parse_gate("em", "exact_match >= 0.5", "t"), INT4, results, reference=None)).status == "passed"


def test_baseline_gates_refuse_another_machine_for_performance_only():
    now = _results(int4_cpu__decode_tps=[80.0] * 5, int4_cpu__exact_match=[True] * 10)
    before = _results(
        fingerprint="m2", run_id="run-b", int4_cpu__decode_tps=[100.0] * 5, int4_cpu__exact_match=[True] * 10
    )
    speed = parse_gate("speed", "decode_tps >= 0.9 * baseline", "t")
    verdict = judge(speed, INT4, now, reference=None, baseline=before)
    assert verdict.status == "failed" and "measured on another machine" in verdict.message
    verdict = judge(speed, INT4, now, reference=None, baseline=before, allow_foreign_baseline=True)
    assert verdict.status == "failed" and "is not >= 90 (0.9 × baseline run-b 100)" in verdict.message
    quality = parse_gate("q", "exact_match >= baseline - 0.01", "t")
    assert judge(quality, INT4, now, reference=None, baseline=before).status == "passed"
    assert judge(speed, INT4, now, reference=None).status == "not_applicable"  # no --baseline given


def test_a_glob_gate_judges_every_match():
    results = _results(int4_cpu__decode_tps=[50.0] * 3)
    results["measurements"].append(
        {**results["measurements"][0], "name": "decode_tps@16", "value": 10.0, "interval": [9.0, 11.0]}
    )
    verdict = judge(parse_gate("g", "decode_tps* >= 20", "t"), INT4, results, reference=None)
    assert judge(parse_gate("g", "decode_tps@16 >= 20", "t"), INT4, results, reference=None).status == "failed"
    assert verdict.status == "failed" and len(verdict.checks) == 2
    assert "decode_tps@16 = 10" in verdict.message and "decode_tps = 50" not in verdict.message


def test_scopes_select_variants():
    gate = parse_gates({"g": {"check": "kld_mean <= 1", "precisions": ["int4", "int8"]}}, "t")[0]
    assert gate.applies_to(INT4) and not gate.applies_to({"precision": "fp32", "provider": "cpu"})


def test_the_example_release_gates_and_workflow_fit_together():
    from pathlib import Path

    import yaml

    repo = Path(__file__).resolve().parents[2]
    gates, _ = load_gates(repo / "examples" / "release-gates.toml", {}, "[tool.harness]")
    assert {g.base for g in gates} == {None, "reference", "baseline"}
    workflow = yaml.safe_load((repo / ".github" / "workflows" / "release-gate.yml").read_text())
    script = "\n".join(step.get("run", "") for step in workflow["jobs"]["measure"]["steps"])
    assert "--gates-file examples/release-gates.toml" in script and "--junitxml" in script
    assert "pytest suites/ --benchmark" in script
