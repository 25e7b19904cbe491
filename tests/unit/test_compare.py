"""harness.results.compare: whether a figure changed between two runs beyond noise, and the report of it.

p-values are computed in the test from their definitions (hypergeometric tables, rank sums over every
split), never by the module under test."""

import itertools
import math

import pytest

from harness.results.compare import compare, judge_change, render


def _fisher(a_successes, a_n, b_successes, b_n):
    """Two-sided Fisher exact p: the chance of every table with the same margins no likelier than this one."""
    successes, n = a_successes + b_successes, a_n + b_n

    def chance(x):
        return math.comb(a_n, x) * math.comb(b_n, successes - x) / math.comb(n, successes)

    observed = chance(a_successes)
    tables = range(max(0, successes - b_n), min(a_n, successes) + 1)
    return min(1.0, sum(chance(x) for x in tables if chance(x) <= observed * (1 + 1e-7)))


def _mann_whitney(a, b):
    """Two-sided exact Mann-Whitney p (no ties): twice the smaller tail of U over every split of the pool."""
    pool = sorted(a + b)

    def u(first):
        return sum(1 for x in first for y in pool if y not in first and x > y)

    observed = u(a)
    splits = [u(set(c)) for c in itertools.combinations(pool, len(a))]
    low = sum(1 for s in splits if s <= observed) / len(splits)
    high = sum(1 for s in splits if s >= observed) / len(splits)
    return min(1.0, 2 * min(low, high))


def _share(successes, n):
    return {"estimator": "proportion", "stats": {"successes": successes, "n": n}}


def _samples(values, estimator="median", interval=None):
    return {"estimator": estimator, "samples": values, "interval": interval, "stats": {"n": len(values)}}


def _estimate(interval, n=100):
    return {"estimator": "estimate", "interval": interval, "stats": {"n": n}}


# ---------------------------------------------------------------------------------------------
# judge_change


def test_shares_that_moved_are_changed_by_fisher():
    """9/10 against 3/10: Fisher's p = 0.0198 < 0.05, changed."""
    p = _fisher(9, 10, 3, 10)
    assert p == pytest.approx(0.0198, abs=1e-4)
    assert judge_change(_share(9, 10), _share(3, 10)) == ("changed", f"Fisher p={p:.2g}")


def test_shares_that_barely_moved_are_within_noise():
    """6/10 against 5/10: Fisher's p = 1, within noise."""
    assert _fisher(6, 10, 5, 10) == pytest.approx(1.0)
    assert judge_change(_share(6, 10), _share(5, 10)) == ("within noise", "Fisher p=1")


def test_a_share_against_another_kind_is_not_a_fisher_test():
    """Fisher needs proportions on both sides; otherwise the intervals decide."""
    b = {**_share(3, 10), "interval": [0.1, 0.2]}
    a = {**_estimate([0.8, 0.9], n=10), "stats": {"successes": 9, "n": 10}}
    assert judge_change(a, b) == ("changed", "intervals apart")
    assert judge_change(b, a) == ("changed", "intervals apart")


@pytest.mark.parametrize("estimator", ["median", "mean"])
def test_samples_apart_are_changed_by_mann_whitney(estimator):
    """[1..4] against [5..8]: exact p = 2 / C(8, 4) = 0.0286 < 0.05, changed."""
    a, b = [1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]
    p = _mann_whitney(a, b)
    assert p == pytest.approx(2 / 70)
    assert judge_change(_samples(a, estimator), _samples(b, estimator)) == ("changed", f"Mann-Whitney p={p:.2g}")


def test_three_samples_each_are_enough_for_mann_whitney():
    """3 against 3 samples is tested on ranks (p = 0.1 at best), even when the intervals are apart."""
    a, b = [1.0, 2.0, 3.0], [4.0, 5.0, 6.0]
    assert _mann_whitney(a, b) == pytest.approx(0.1)
    assert judge_change(_samples(a, interval=[1.0, 2.0]), _samples(b, interval=[4.0, 5.0])) == \
        ("within noise", "Mann-Whitney p=0.1")
    mixed = [2.0, 4.0, 6.0]
    assert judge_change(_samples([1.0, 3.0, 5.0]), _samples(mixed)) == \
        ("within noise", f"Mann-Whitney p={_mann_whitney([1.0, 3.0, 5.0], mixed):.2g}")


def test_two_samples_fall_back_to_the_intervals():
    """Fewer than 3 samples on either side: no rank test; the intervals decide."""
    few, many = _samples([1.0, 2.0], interval=[1.0, 2.0]), _samples([7.0, 8.0, 9.0], interval=[7.0, 9.0])
    assert judge_change(few, many) == ("changed", "intervals apart")
    assert judge_change(many, few) == ("changed", "intervals apart")


def test_a_sampled_figure_needs_a_median_or_mean_estimator():
    """A fit with samples is not rank-tested: the intervals decide."""
    fit = {"estimator": "fit", "samples": [1.0, 2.0, 3.0], "interval": [1.0, 2.0], "stats": {"n": 3}}
    other = {**fit, "samples": [4.0, 5.0, 6.0], "interval": [4.0, 5.0]}
    assert judge_change(fit, other) == ("changed", "intervals apart")


@pytest.mark.parametrize("ia, ib, verdict", [
    ([1.0, 2.0], [3.0, 4.0], ("changed", "intervals apart")),
    ([3.0, 4.0], [1.0, 2.0], ("changed", "intervals apart")),
    ([1.0, 3.0], [2.0, 4.0], ("within noise", "intervals overlap")),
    ([1.0, 2.0], [2.0, 3.0], ("within noise", "intervals overlap")),  # touching is not apart
    ([2.0, 3.0], [1.0, 2.0], ("within noise", "intervals overlap")),
])
def test_estimates_compare_by_their_intervals(ia, ib, verdict):
    """Apart only when one interval ends before the other starts."""
    assert judge_change(_estimate(ia, n=2), _estimate(ib, n=2)) == verdict


@pytest.mark.parametrize("a, b", [
    (_estimate([1.0, 2.0], n=1), _estimate([3.0, 4.0])),
    (_estimate([1.0, 2.0]), _estimate([3.0, 4.0], n=1)),
    ({"estimator": "estimate", "interval": [1.0, 2.0]}, _estimate([3.0, 4.0])),  # no count: a single value
    ({"estimator": "estimate", "interval": [1.0, 2.0], "stats": None}, _estimate([3.0, 4.0])),
    (_estimate(None), _estimate([3.0, 4.0])),
    (_estimate([3.0, 4.0]), _estimate(None)),
    (_estimate([None, 2.0]), _estimate([3.0, 4.0])),
    (_estimate([3.0, 4.0]), _estimate([1.0, None])),
])
def test_no_test_is_possible_without_two_intervals_over_several_values(a, b):
    """A single value, or an interval missing or open, on either side: no verdict."""
    assert judge_change(a, b) == ("no interval", "a single value each: no test possible")


# ---------------------------------------------------------------------------------------------
# compare and render


def _m(variant, name, value, suite="quality", **more):
    return {"variant": variant, "name": name, "suite": suite, "unit": "u", "value": value, **more}


def _run(run_id, fingerprint, measurements, variants=(), gates=None):
    run = {"run": {"id": run_id}, "environment": {"machine_fingerprint": fingerprint},
           "measurements": measurements, "variants": list(variants)}
    if gates is not None:
        run["gates"] = {"results": gates}
    return run


def _two_runs(fingerprint_b="m1"):
    a = _run("run-a", "m1", [
        _m("int4-cpu", "exact_match", 0.9, estimator="proportion", stats={"successes": 9, "n": 10}),
        _m("int4-cpu", "decode_tps", 40.0, "latency", estimator="median", samples=[39.0, 40.0, 41.0, 42.0]),
        _m("int4-cpu", "kld_mean", 0.0, estimator="estimate", interval=[0.0, 0.0], stats={"n": 50}),
        _m("int4-cpu", "tokenize_ms", 2.0, "latency"),  # not a headline figure
        _m("fp32-cpu", "exact_match", 1.0),  # not in run B
    ], [{"id": "int4-cpu", "status": "passed"}, {"id": "fp32-cpu", "status": "passed"}],
        [{"gate": "acc", "variant": "int4-cpu", "status": "passed"},
         {"gate": "fmt", "variant": "int4-cpu", "status": "skipped"}])
    b = _run("run-b", fingerprint_b, [
        _m("int4-cpu", "tokenize_ms", 3.0, "latency"),  # not a headline figure, listed first
        _m("int4-cpu", "exact_match", 0.3, estimator="proportion", stats={"successes": 3, "n": 10}),
        _m("int4-cpu", "decode_tps", 60.0, "latency", estimator="median", samples=[59.0, 60.0, 61.0, 62.0]),
        _m("int4-cpu", "kld_mean", 0.02, estimator="estimate", interval=[0.01, 0.03], stats={"n": 50}),
        _m("int4-cpu", "leak_kib_per_iter_fresh", 1.0, "soak"),  # not in run A
        _m("int8-cpu", "exact_match", None),
    ], [{"id": "int4-cpu", "status": "failed"}, {"id": "fp32-cpu", "status": "passed"},
        {"id": "int8-cpu", "status": "passed"}],
        [{"gate": "acc", "variant": "int4-cpu", "status": "failed"},
         {"gate": "fmt", "variant": "int4-cpu", "status": "not_applicable"},
         {"gate": "new", "variant": "int4-cpu", "status": "passed"}])
    return a, b


def test_compare_lists_headline_figures_both_runs_measured():
    """Rows for the headline figures in both runs, with the relative change and the verdict."""
    result = compare(*_two_runs())
    assert (result["a"], result["b"], result["same_machine"]) == ("run-a", "run-b", True)
    fisher, mw = _fisher(9, 10, 3, 10), _mann_whitney([39.0, 40.0, 41.0, 42.0], [59.0, 60.0, 61.0, 62.0])
    assert result["rows"] == [
        {"variant": "int4-cpu", "suite": "quality", "metric": "exact_match", "unit": "u", "a": 0.9, "b": 0.3,
         "change": pytest.approx(0.3 / 0.9 - 1), "verdict": "changed", "how": f"Fisher p={fisher:.2g}"},
        {"variant": "int4-cpu", "suite": "latency", "metric": "decode_tps", "unit": "u", "a": 40.0, "b": 60.0,
         "change": pytest.approx(0.5), "verdict": "changed", "how": f"Mann-Whitney p={mw:.2g}"},
        {"variant": "int4-cpu", "suite": "quality", "metric": "kld_mean", "unit": "u", "a": 0.0, "b": 0.02,
         "change": None, "verdict": "changed", "how": "intervals apart"},  # no relative change from 0
    ]
    assert result["statuses"] == [("int4-cpu", "passed", "failed"), ("int8-cpu", None, "passed")]
    # schema 2's "skipped" is not applicable: unchanged; a gate new in B changed from nothing
    assert result["gates"] == [("acc", "int4-cpu", "passed", "failed"), ("new", "int4-cpu", None, "passed")]


def test_compare_everything_includes_every_shared_figure():
    """everything=True: non-headline figures too; a figure without value in B has no change."""
    a, b = _two_runs()
    a["measurements"].append(_m("int8-cpu", "exact_match", 0.5))
    rows = compare(a, b, everything=True)["rows"]
    assert [(r["variant"], r["metric"]) for r in rows] == [
        ("int4-cpu", "tokenize_ms"), ("int4-cpu", "exact_match"), ("int4-cpu", "decode_tps"),
        ("int4-cpu", "kld_mean"), ("int8-cpu", "exact_match")]
    assert rows[0]["change"] == pytest.approx(0.5) and rows[0]["verdict"] == "no interval"
    assert rows[4]["change"] is None


def test_performance_figures_from_another_machine_are_not_compared():
    """Another machine: performance rows say so; quality rows are still judged."""
    result = compare(*_two_runs(fingerprint_b="m2"))
    assert result["same_machine"] is False
    verdicts = {r["metric"]: (r["verdict"], r["how"]) for r in result["rows"]}
    assert verdicts["decode_tps"] == ("not compared", "different machines: performance figures are not comparable")
    assert verdicts["exact_match"][0] == "changed" and verdicts["kld_mean"][0] == "changed"


def test_runs_without_environment_or_gates_compare():
    """Neither run has an environment or gates: same (unknown) machine, no gate changes."""
    a = {"run": {"id": "a"}, "measurements": [_m("v", "ttft_ms", 2.0, "latency")]}
    b = {"run": {"id": "b"}, "measurements": [_m("v", "ttft_ms", 3.0, "latency")]}
    result = compare(a, b)
    assert result["same_machine"] is True and result["gates"] == [] and result["statuses"] == []
    assert result["rows"][0]["verdict"] == "no interval"


def test_runs_that_measured_nothing_compare_to_no_rows():
    """Runs without any measurement (a run that stopped early): no rows, no error."""
    result = compare({"run": {"id": "a"}}, {"run": {"id": "b"}})
    assert result["rows"] == [] and result["statuses"] == [] and result["gates"] == []


def test_render_reports_the_comparison_as_markdown():
    """The report: title, count of changed figures, one table row each, status and gate changes."""
    result = compare(*_two_runs(fingerprint_b="m2"))
    result["statuses"] = [s for s in result["statuses"] if s[0] == "int4-cpu"]  # a variant new in B: not pinned
    fisher = _fisher(9, 10, 3, 10)
    assert render(result) == "\n".join([
        "# run-b compared with run-a", "",
        "The runs were made on different machines: performance figures are listed, not compared.", "",
        "2 of 3 figures changed beyond noise (p < 0.05 or 95 % intervals apart).", "",
        "| variant | metric | A | B | change | verdict | how decided |",
        "| --- | --- | ---: | ---: | ---: | --- | --- |",
        f"| `int4-cpu` | exact_match | 0.9 | 0.3 | -66.7% | **changed** | Fisher p={fisher:.2g} |",
        ("| `int4-cpu` | decode_tps | 40 | 60 | +50.0% | not compared | different machines: performance figures are "
         "not comparable |"),
        "| `int4-cpu` | kld_mean | 0 | 0.02 | — | **changed** | intervals apart |",
        "",
        "Variant status changes: `int4-cpu` passed → failed",
        "",
        "Gate changes: acc on `int4-cpu` passed → failed; new on `int4-cpu` absent → passed",
    ]) + "\n"


def test_render_of_nothing_changed_on_one_machine_is_short():
    """Same machine, no status or gate change: no machine note, no change lines; an infinite change is '—'."""
    result = {"a": "a", "b": "b", "same_machine": True, "statuses": [], "gates": [], "rows": [
        {"variant": "v", "metric": "m", "a": 1.0, "b": 1.0, "change": float("inf"), "verdict": "within noise",
         "how": "intervals overlap"}]}
    assert render(result) == (
        "# b compared with a\n\n"
        "0 of 1 figures changed beyond noise (p < 0.05 or 95 % intervals apart).\n\n"
        "| variant | metric | A | B | change | verdict | how decided |\n"
        "| --- | --- | ---: | ---: | ---: | --- | --- |\n"
        "| `v` | m | 1 | 1 | — | within noise | intervals overlap |\n")


def test_render_joins_several_status_changes():
    """Two variants changed status: both listed on one line, joined with '; '."""
    result = {"a": "a", "b": "b", "same_machine": True, "rows": [], "gates": [],
              "statuses": [("x", "passed", "failed"), ("y", "failed", "passed")]}
    assert render(result).endswith("\nVariant status changes: `x` passed → failed; `y` failed → passed\n")
