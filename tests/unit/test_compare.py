"""harness.results.compare: whether a figure changed between two runs beyond noise and by enough to
matter, and the report of it.

p-values are computed in the test from their definitions (hypergeometric tables, rank sums over every
split, the normal tail), and Holm adjustments by hand, never by the module under test."""

import itertools
import math

import pytest

from harness.__main__ import main
from harness.errors import HarnessError
from harness.results.compare import (
    ABSOLUTE,
    RELATIVE,
    compare,
    decide,
    effect_of,
    holm,
    min_effect,
    parse_min_effects,
    raw_test,
    render,
)

Z975 = 1.959963984540054  # the normal distribution's 97.5 % quantile


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


def _estimate(interval, n=100, value=None):
    """An estimate whose value is its interval's middle unless given."""
    if value is None and interval and None not in interval:
        value = (interval[0] + interval[1]) / 2
    return {"estimator": "estimate", "value": value, "interval": interval, "stats": {"n": n}}


def _wald(va, se_a, vb, se_b):
    """Two-sided normal p of the difference: erfc(|z| / sqrt 2) = 2 (1 - Phi(|z|))."""
    return math.erfc(abs(vb - va) / math.hypot(se_a, se_b) / math.sqrt(2))


# ---------------------------------------------------------------------------------------------
# raw_test: one raw p-value per figure


def test_shares_are_tested_by_fisher():
    """9/10 against 3/10: Fisher's p = 0.0198."""
    p = _fisher(9, 10, 3, 10)
    assert p == pytest.approx(0.0198, abs=1e-4)
    assert raw_test(_share(9, 10), _share(3, 10)) == ("Fisher", pytest.approx(p))


def test_shares_that_barely_moved_have_fisher_p_one():
    """6/10 against 5/10: Fisher's p = 1."""
    assert _fisher(6, 10, 5, 10) == pytest.approx(1.0)
    assert raw_test(_share(6, 10), _share(5, 10)) == ("Fisher", pytest.approx(1.0))


def test_a_share_against_another_kind_is_not_a_fisher_test():
    """Fisher needs proportions on both sides; otherwise the Wald test on the values and the standard
    errors their 95 % intervals imply: 0.85 and 0.15, se = 0.1 / (2 x 1.96) each."""
    b = {**_share(3, 10), "value": 0.15, "interval": [0.1, 0.2]}
    a = {**_estimate([0.8, 0.9], n=10), "stats": {"successes": 9, "n": 10}}
    se = 0.1 / (2 * Z975)
    assert raw_test(a, b) == ("Wald", pytest.approx(_wald(0.85, se, 0.15, se)))
    assert raw_test(b, a) == ("Wald", pytest.approx(_wald(0.85, se, 0.15, se)))


@pytest.mark.parametrize("estimator", ["median", "mean"])
def test_samples_are_tested_by_mann_whitney(estimator):
    """[1..4] against [5..8]: exact p = 2 / C(8, 4) = 0.0286."""
    a, b = [1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]
    p = _mann_whitney(a, b)
    assert p == pytest.approx(2 / 70)
    assert raw_test(_samples(a, estimator), _samples(b, estimator)) == ("Mann-Whitney", pytest.approx(p))


def test_three_samples_each_are_enough_for_mann_whitney():
    """3 against 3 samples is tested on ranks (p = 0.1 at best), even when the intervals are apart."""
    a, b = [1.0, 2.0, 3.0], [4.0, 5.0, 6.0]
    assert _mann_whitney(a, b) == pytest.approx(0.1)
    assert raw_test(_samples(a, interval=[1.0, 2.0]), _samples(b, interval=[4.0, 5.0])) == (
        "Mann-Whitney",
        pytest.approx(0.1),
    )
    mixed = [2.0, 4.0, 6.0]
    assert raw_test(_samples([1.0, 3.0, 5.0]), _samples(mixed)) == (
        "Mann-Whitney",
        pytest.approx(_mann_whitney([1.0, 3.0, 5.0], mixed)),
    )


def test_two_samples_fall_back_to_the_wald_test():
    """Fewer than 3 samples on either side: no rank test; the values and intervals decide."""
    few = {**_samples([1.0, 2.0], interval=[1.0, 2.0]), "value": 1.5}
    many = {**_samples([7.0, 8.0, 9.0], interval=[7.0, 9.0]), "value": 8.0}
    p = _wald(1.5, 1.0 / (2 * Z975), 8.0, 2.0 / (2 * Z975))
    assert raw_test(few, many) == ("Wald", pytest.approx(p))
    assert raw_test(many, few) == ("Wald", pytest.approx(p))


def test_a_theil_sen_slope_is_tested_with_the_normal_quantile():
    """A fit with samples is not rank-tested. A Theil–Sen slope (no r2) has a normal-based
    interval: se = width / (2 x 1.96)."""
    fit = {"estimator": "fit", "value": 1.5, "samples": [1.0, 2.0, 3.0], "interval": [1.0, 2.0], "stats": {"n": 3}}
    other = {**fit, "value": 4.5, "samples": [4.0, 5.0, 6.0], "interval": [4.0, 5.0]}
    se = 1.0 / (2 * Z975)
    assert raw_test(fit, other) == ("Wald", pytest.approx(_wald(1.5, se, 4.5, se)))


def test_a_least_squares_slope_is_tested_with_students_t():
    """A least-squares fit (it has r2) of 4 points: interval = slope ± t(0.975, 2) se, where for 2
    degrees of freedom t(q) = (2q - 1) / sqrt(2 q (1 - q)) = 4.3027. Slopes 1.0 and 1.5 with se 0.1:
    z = 0.5 / sqrt(0.02) = 3.536, p = 4.1e-4 (with 1.96 instead of t it would be 0.11)."""
    t = (2 * 0.975 - 1) / math.sqrt(2 * 0.975 * 0.025)
    assert t == pytest.approx(4.3027, abs=1e-4)

    def line(slope):
        return {
            "estimator": "fit",
            "value": slope,
            "interval": [slope - t * 0.1, slope + t * 0.1],
            "stats": {"n": 4, "r2": 0.9},
            "samples": [1.0, 2.0, 3.0, 4.0],
        }

    method, p = raw_test(line(1.0), line(1.5))
    assert method == "Wald" and p == pytest.approx(_wald(1.0, 0.1, 1.5, 0.1))
    assert p == pytest.approx(4.07e-4, rel=1e-2)


def test_an_estimate_uses_its_own_uncertainty_before_its_interval():
    """estimate() keeps one standard error; its interval may be clipped at a bound (a share below 1).
    0.02 ± 0.004 against 0.03 ± 0.003: z = 0.01 / 0.005 = 2, p = erfc(2 / sqrt 2) = 0.0455."""
    a = {**_estimate([0.0, 1.0], value=0.02), "stats": {"n": 100, "uncertainty": 0.004}}
    b = {**_estimate([0.0, 1.0], value=0.03), "stats": {"n": 100, "uncertainty": 0.003}}
    assert raw_test(a, b) == ("Wald", pytest.approx(math.erfc(2 / math.sqrt(2))))
    assert raw_test(a, b)[1] == pytest.approx(0.0455, abs=1e-4)


@pytest.mark.parametrize(
    "ia, ib, p",
    [
        # values 1.5 and 3.5, se 1 / 3.92 each: z = 2 / 0.3608 = 5.54
        ([1.0, 2.0], [3.0, 4.0], _wald(1.5, 1 / (2 * Z975), 3.5, 1 / (2 * Z975))),
        ([3.0, 4.0], [1.0, 2.0], _wald(1.5, 1 / (2 * Z975), 3.5, 1 / (2 * Z975))),
        # overlapping: values 2 and 3, se 2 / 3.92 each: z = 1.386, p = 0.166
        ([1.0, 3.0], [2.0, 4.0], 0.1657),
        # touching intervals differ at p = 0.0056 (z = 2.77): the overlap rule was conservative
        ([1.0, 2.0], [2.0, 3.0], 0.00557),
        ([2.0, 3.0], [1.0, 2.0], 0.00557),
    ],
)
def test_estimates_are_tested_by_wald_from_their_intervals(ia, ib, p):
    """se = interval width / (2 x 1.96); p = 2 (1 - Phi(|b - a| / sqrt(se_a² + se_b²)))."""
    method, got = raw_test(_estimate(ia, n=2), _estimate(ib, n=2))
    assert method == "Wald" and got == pytest.approx(p, rel=2e-3)


def test_equal_estimates_without_spread_are_the_same_and_different_ones_differ():
    """Zero uncertainty on both sides: p = 1 for equal values, 0 for different ones."""
    assert raw_test(_estimate([2.0, 2.0]), _estimate([2.0, 2.0])) == ("Wald", 1.0)
    assert raw_test(_estimate([2.0, 2.0]), _estimate([3.0, 3.0])) == ("Wald", 0.0)


@pytest.mark.parametrize(
    "a, b",
    [
        (_estimate([1.0, 2.0], n=1), _estimate([3.0, 4.0])),
        (_estimate([1.0, 2.0]), _estimate([3.0, 4.0], n=1)),
        ({"estimator": "estimate", "value": 1.5, "interval": [1.0, 2.0]}, _estimate([3.0, 4.0])),  # no count
        ({"estimator": "estimate", "value": 1.5, "interval": [1.0, 2.0], "stats": None}, _estimate([3.0, 4.0])),
        (_estimate(None, value=1.0), _estimate([3.0, 4.0])),
        (_estimate([3.0, 4.0]), _estimate(None, value=1.0)),
        (_estimate([None, 2.0], value=1.0), _estimate([3.0, 4.0])),
        (_estimate([3.0, 4.0]), _estimate([1.0, None], value=1.0)),
        (_estimate([3.0, 4.0]), {**_estimate([1.0, 2.0]), "value": None}),
    ],
)
def test_no_test_is_possible_without_a_value_and_its_spread_over_several_values(a, b):
    """A single value, or an interval missing or open, or no value, on either side: no test."""
    assert raw_test(a, b) is None


# ---------------------------------------------------------------------------------------------
# holm, the minimum effect and the verdict


def test_holm_adjusts_four_p_values_by_hand():
    """p = 0.01, 0.04, 0.03, 0.005 (m = 4). Sorted: 0.005, 0.01, 0.03, 0.04, multiplied by 4, 3, 2, 1:
    0.02, 0.03, 0.06, 0.04; the running maximum makes the last 0.06. Back in the given order:
    0.03, 0.06, 0.06, 0.02. Bonferroni would give 0.04, 0.16, 0.12, 0.02."""
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_is_monotone_capped_and_keeps_a_single_p():
    """Adjusted p-values never fall as raw ones rise, never pass 1, never fall below the raw p."""
    raw = [0.2, 0.001, 0.04, 0.04, 0.9, 0.0105, 0.5]
    adjusted = holm(raw)
    order = sorted(range(len(raw)), key=raw.__getitem__)
    assert all(adjusted[i] <= adjusted[j] for i, j in itertools.pairwise(order))
    assert all(p <= q <= 1.0 for p, q in zip(raw, adjusted))
    # by hand: 0.001 x 7 = 0.007; 0.0105 x 6 = 0.063; 0.04 x 5 = 0.2 (both ties: 0.04 x 4 = 0.16 -> 0.2);
    # 0.2 x 3 = 0.6; 0.5 x 2 = 1.0; 0.9 x 1 -> 1.0
    assert adjusted == pytest.approx([0.6, 0.007, 0.2, 0.2, 1.0, 0.063, 1.0])
    assert holm([0.03]) == [0.03] and holm([]) == []


def test_min_effect_by_name_family_glob_unit_and_default():
    """The registry's unit decides over the record's; a family member takes its family's entry."""
    assert min_effect("decode_tps", "u") == (RELATIVE, 0.05)
    assert min_effect("ttft_ms@128", "ms") == (RELATIVE, 0.05)
    assert min_effect("exact_match", "u") == (ABSOLUTE, 0.02)  # registered as a fraction
    assert min_effect("kld_mean", "u") == (ABSOLUTE, 0.005)
    assert min_effect("ppl_ratio", "ratio") == (ABSOLUTE, 0.01)  # by name before its unit (ratio: 5 %)
    assert min_effect("first_request_rss_delta_bytes", "bytes") == (ABSOLUTE, 1 << 20)  # a glob
    assert min_effect("peak_rss_bytes", "bytes") == (RELATIVE, 0.05)
    assert min_effect("leak_kib_per_iter_fresh", "KiB/iteration") == (ABSOLUTE, 4.0)
    assert min_effect("not_registered", "fraction") == (ABSOLUTE, 0.02)  # the record's unit
    assert min_effect("not_registered", "furlongs") == (RELATIVE, 0.05)


def test_min_effect_overrides_come_first_exact_names_before_globs():
    overrides = {"ttft_ms@*": (RELATIVE, 0.1), "*": (ABSOLUTE, 7.0), "exact_match": (ABSOLUTE, 0.05)}
    assert min_effect("ttft_ms@64", "ms", overrides) == (RELATIVE, 0.1)
    assert min_effect("exact_match", "fraction", overrides) == (ABSOLUTE, 0.05)
    assert min_effect("decode_tps", "tokens/s", overrides) == (ABSOLUTE, 7.0)


def test_effect_is_absolute_or_relative_to_run_a():
    assert effect_of(0.9, 0.3, ABSOLUTE) == pytest.approx(0.6)
    assert effect_of(40.0, 38.0, RELATIVE) == pytest.approx(0.05)
    assert effect_of(-2.0, -1.0, RELATIVE) == pytest.approx(0.5)
    assert effect_of(0.0, 1.0, RELATIVE) == math.inf and effect_of(0.0, 0.0, RELATIVE) == 0.0
    assert effect_of(None, 1.0, ABSOLUTE) is None and effect_of(1.0, math.nan, RELATIVE) is None


@pytest.mark.parametrize(
    "adjusted, a, b, minimum, verdict",
    [
        (0.049, 100.0, 110.0, (RELATIVE, 0.05), ("changed", "; effect 10 % ≥ minimum 5 %")),
        (0.049, 100.0, 105.0, (RELATIVE, 0.05), ("changed", "; effect 5 % ≥ minimum 5 %")),  # at the minimum
        (0.049, 100.0, 104.0, (RELATIVE, 0.05), ("significant, below minimum effect", "; effect 4 % < minimum 5 %")),
        (0.05, 100.0, 200.0, (RELATIVE, 0.05), ("within noise", "")),  # p = alpha is not below it
        (0.001, 0.50, 0.51, (ABSOLUTE, 0.02), ("significant, below minimum effect", "; effect 0.01 < minimum 0.02")),
        (0.001, 0.50, 0.53, (ABSOLUTE, 0.02), ("changed", "; effect 0.03 ≥ minimum 0.02")),
        (
            0.001,
            None,
            0.53,
            (ABSOLUTE, 0.02),
            ("significant, below minimum effect", "; no effect to hold against the minimum 0.02"),
        ),
    ],
)
def test_decide_needs_significance_after_holm_and_the_minimum_effect(adjusted, a, b, minimum, verdict):
    assert decide(adjusted, a, b, minimum) == verdict


# ---------------------------------------------------------------------------------------------
# parse_min_effects: the --min-effect option


def test_min_effect_options_read_percent_as_relative_and_numbers_as_absolute():
    assert parse_min_effects(
        ["decode_tps=10%", "exact_match=0.05", " ttft_ms@* = 2.5 % ", "rss_bytes=1e6", "decode_tps=3%"]
    ) == {
        "decode_tps": (RELATIVE, pytest.approx(0.03)),  # the later option wins
        "exact_match": (ABSOLUTE, 0.05),
        "ttft_ms@*": (RELATIVE, pytest.approx(0.025)),
        "rss_bytes": (ABSOLUTE, 1e6),
    }
    assert parse_min_effects([]) == {}


@pytest.mark.parametrize(
    "text, message",
    [
        ("decode_tps", r"^option --min-effect 'decode_tps': expected METRIC=VALUE"),
        ("=5%", r"^option --min-effect '=5%': expected METRIC=VALUE"),
        ("decode_tps=", r"expected METRIC=VALUE"),
        (
            "decod_tps=5%",
            r"^option --min-effect 'decod_tps=5%': unknown metric 'decod_tps' \(did you mean 'decode_tps'\?",
        ),
        ("zzzz=5%", r"unknown metric 'zzzz' \(metrics: docs/reference/metrics.md\)$"),
        ("decode_tps=fast", r"^option --min-effect 'decode_tps=fast': cannot read the minimum effect 'fast'"),
        ("decode_tps=-5%", r"cannot read the minimum effect '-5%'"),
        ("decode_tps=5%%", r"cannot read the minimum effect '5%%'"),
        ("decode_tps=nan", r"cannot read the minimum effect 'nan'"),
        ("decode_tps=1e999", r"cannot read the minimum effect '1e999'"),
    ],
)
def test_bad_min_effect_options_are_refused_naming_the_option(text, message):
    with pytest.raises(HarnessError, match=message):
        parse_min_effects([text])


def test_the_command_line_reports_a_bad_min_effect_in_one_line(capsys, tmp_path):
    """A user mistake: one line on stderr, exit status 2, before any run is read."""
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--min-effect", "decode_tps=fast"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith("error: option --min-effect 'decode_tps=fast': cannot read the minimum effect 'fast'")


# ---------------------------------------------------------------------------------------------
# compare and render


def _m(variant, name, value, suite="quality", **more):
    return {"variant": variant, "name": name, "suite": suite, "unit": "u", "value": value, **more}


def _run(run_id, fingerprint, measurements, variants=(), gates=None):
    run = {
        "run": {"id": run_id},
        "environment": {"machine_fingerprint": fingerprint},
        "measurements": measurements,
        "variants": list(variants),
    }
    if gates is not None:
        run["gates"] = {"results": gates}
    return run


def _two_runs(fingerprint_b="m1"):
    a = _run(
        "run-a",
        "m1",
        [
            _m("int4-cpu", "exact_match", 0.9, estimator="proportion", stats={"successes": 9, "n": 10}),
            _m("int4-cpu", "decode_tps", 40.0, "latency", estimator="median", samples=[39.0, 40.0, 41.0, 42.0]),
            _m("int4-cpu", "kld_mean", 0.0, estimator="estimate", interval=[0.0, 0.0], stats={"n": 50}),
            _m("int4-cpu", "tokenize_ms", 2.0, "latency"),  # not a headline figure
            _m("fp32-cpu", "exact_match", 1.0),  # not in run B
        ],
        [{"id": "int4-cpu", "status": "passed"}, {"id": "fp32-cpu", "status": "passed"}],
        [
            {"gate": "acc", "variant": "int4-cpu", "status": "passed"},
            {"gate": "fmt", "variant": "int4-cpu", "status": "skipped"},
        ],
    )
    b = _run(
        "run-b",
        fingerprint_b,
        [
            _m("int4-cpu", "tokenize_ms", 3.0, "latency"),  # not a headline figure, listed first
            _m("int4-cpu", "exact_match", 0.3, estimator="proportion", stats={"successes": 3, "n": 10}),
            _m("int4-cpu", "decode_tps", 60.0, "latency", estimator="median", samples=[59.0, 60.0, 61.0, 62.0]),
            _m("int4-cpu", "kld_mean", 0.02, estimator="estimate", interval=[0.01, 0.03], stats={"n": 50}),
            _m("int4-cpu", "leak_kib_per_iter_fresh", 1.0, "soak"),  # not in run A
            _m("int8-cpu", "exact_match", None),
        ],
        [
            {"id": "int4-cpu", "status": "failed"},
            {"id": "fp32-cpu", "status": "passed"},
            {"id": "int8-cpu", "status": "passed"},
        ],
        [
            {"gate": "acc", "variant": "int4-cpu", "status": "failed"},
            {"gate": "fmt", "variant": "int4-cpu", "status": "not_applicable"},
            {"gate": "new", "variant": "int4-cpu", "status": "passed"},
        ],
    )
    return a, b


def test_compare_lists_headline_figures_both_runs_measured():
    """Rows for the headline figures in both runs, with the relative change and the verdict.

    Three tests: Fisher 0.0198, Mann-Whitney 2/70 = 0.0286, and Wald for kld_mean (0 ± 0 against
    0.02 with se 0.02 / 3.92: z = 2 x 1.96, p = 8.9e-5). Holm: sorted 8.9e-5, 0.0198, 0.0286 times 3, 2, 1
    = 2.7e-4, 0.0395, 0.0286, and the running maximum lifts the last to 0.0395. All below 0.05, all at
    least their minimum effect (0.6 >= 2 points, 50 % >= 5 %, 0.02 >= 0.005 nats/token): changed."""
    result = compare(*_two_runs())
    assert (result["a"], result["b"], result["same_machine"]) == ("run-a", "run-b", True)
    fisher, mw = _fisher(9, 10, 3, 10), _mann_whitney([39.0, 40.0, 41.0, 42.0], [59.0, 60.0, 61.0, 62.0])
    kld = _wald(0.0, 0.0, 0.02, 0.02 / (2 * Z975))
    assert kld == pytest.approx(math.erfc(Z975 * math.sqrt(2))) and kld == pytest.approx(8.9e-5, rel=1e-2)
    assert result["rows"] == [
        {
            "variant": "int4-cpu",
            "suite": "quality",
            "metric": "exact_match",
            "unit": "u",
            "a": 0.9,
            "b": 0.3,
            "change": pytest.approx(0.3 / 0.9 - 1),
            "verdict": "changed",
            "p": pytest.approx(fisher),
            "holm_p": pytest.approx(2 * fisher),
            "how": f"Fisher p={fisher:.2g}, Holm p={2 * fisher:.2g} of 3; effect 0.6 ≥ minimum 0.02",
        },
        {
            "variant": "int4-cpu",
            "suite": "latency",
            "metric": "decode_tps",
            "unit": "u",
            "a": 40.0,
            "b": 60.0,
            "change": pytest.approx(0.5),
            "verdict": "changed",
            "p": pytest.approx(mw),
            "holm_p": pytest.approx(2 * fisher),
            "how": f"Mann-Whitney p={mw:.2g}, Holm p={2 * fisher:.2g} of 3; effect 50 % ≥ minimum 5 %",
        },
        {
            "variant": "int4-cpu",
            "suite": "quality",
            "metric": "kld_mean",
            "unit": "u",
            "a": 0.0,
            "b": 0.02,
            "change": None,
            "verdict": "changed",
            "p": pytest.approx(kld),
            "holm_p": pytest.approx(3 * kld),
            "how": f"Wald p={kld:.2g}, Holm p={3 * kld:.2g} of 3; effect 0.02 ≥ minimum 0.005",
        },  # no relative change from 0
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
        ("int4-cpu", "tokenize_ms"),
        ("int4-cpu", "exact_match"),
        ("int4-cpu", "decode_tps"),
        ("int4-cpu", "kld_mean"),
        ("int8-cpu", "exact_match"),
    ]
    assert rows[0]["change"] == pytest.approx(0.5) and rows[0]["verdict"] == "no interval"
    assert (rows[0]["p"], rows[0]["holm_p"]) == (None, None)  # not tested: not in the family
    assert rows[4]["change"] is None
    # the family is what was tested: the three figures with a test, not the two without
    assert [r["p"] is not None for r in rows] == [False, True, True, True, False]
    assert all(" of 3;" in r["how"] for r in rows if r["p"] is not None)


def test_performance_figures_from_another_machine_are_not_compared():
    """Another machine: performance rows say so; quality rows are still judged."""
    result = compare(*_two_runs(fingerprint_b="m2"))
    assert result["same_machine"] is False
    verdicts = {r["metric"]: (r["verdict"], r["how"]) for r in result["rows"]}
    assert verdicts["decode_tps"] == ("not compared", "different machines: performance figures are not comparable")
    assert verdicts["exact_match"][0] == "changed" and verdicts["kld_mean"][0] == "changed"
    # the family is the two figures tested: exact_match's Holm p is max(2 x 8.9e-5, 1 x 0.0198)
    fisher = _fisher(9, 10, 3, 10)
    assert verdicts["exact_match"][1].startswith(f"Fisher p={fisher:.2g}, Holm p={fisher:.2g} of 2;")


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
    """The report: title, what was tested and how it came out, one table row each, status and gate changes."""
    result = compare(*_two_runs(fingerprint_b="m2"))
    fisher, kld = _fisher(9, 10, 3, 10), _wald(0.0, 0.0, 0.02, 0.02 / (2 * Z975))
    assert (
        render(result)
        == "\n".join(
            [
                "# run-b compared with run-a",
                "",
                "The runs were made on different machines: performance figures are listed, not compared.",
                "",
                (
                    "2 of 3 figures tested, Holm–Bonferroni corrected (family-wise error rate 0.05): 2 changed, "
                    "0 significant but below their minimum effect, 0 within noise."
                ),
                "",
                "| variant | metric | A | B | change | verdict | how decided |",
                "| --- | --- | ---: | ---: | ---: | --- | --- |",
                (
                    f"| `int4-cpu` | exact_match | 0.9 | 0.3 | -66.7% | **changed** | Fisher p={fisher:.2g}, "
                    f"Holm p={fisher:.2g} of 2; effect 0.6 ≥ minimum 0.02 |"
                ),
                (
                    "| `int4-cpu` | decode_tps | 40 | 60 | +50.0% | not compared | different machines: "
                    "performance figures are not comparable |"
                ),
                (
                    f"| `int4-cpu` | kld_mean | 0 | 0.02 | — | **changed** | Wald p={kld:.2g}, "
                    f"Holm p={2 * kld:.2g} of 2; effect 0.02 ≥ minimum 0.005 |"
                ),
                "",
                "Variant status changes: `int4-cpu` passed → failed; `int8-cpu` new → passed",  # not "None → passed"
                "",
                "Gate changes: acc on `int4-cpu` passed → failed; new on `int4-cpu` absent → passed",
            ]
        )
        + "\n"
    )


def test_render_of_nothing_changed_on_one_machine_is_short():
    """Same machine, no status or gate change: no machine note, no change lines; an infinite change is '—'."""
    result = {
        "a": "a",
        "b": "b",
        "same_machine": True,
        "statuses": [],
        "gates": [],
        "rows": [
            {
                "variant": "v",
                "metric": "m",
                "a": 1.0,
                "b": 1.0,
                "change": float("inf"),
                "verdict": "within noise",
                "how": "Wald p=1, Holm p=1 of 1",
            }
        ],
    }
    assert render(result) == (
        "# b compared with a\n\n"
        "1 of 1 figures tested, Holm–Bonferroni corrected (family-wise error rate 0.05): 0 changed, "
        "0 significant but below their minimum effect, 1 within noise.\n\n"
        "| variant | metric | A | B | change | verdict | how decided |\n"
        "| --- | --- | ---: | ---: | ---: | --- | --- |\n"
        "| `v` | m | 1 | 1 | — | within noise | Wald p=1, Holm p=1 of 1 |\n"
    )


def test_render_counts_each_verdict_and_leaves_untested_figures_out():
    """Only "changed" is bold; figures without a test count in the total, not among the tested."""
    rows = [
        {"variant": "v", "metric": f"m{i}", "a": 1.0, "b": 2.0, "change": 1.0, "verdict": verdict, "how": "h"}
        for i, verdict in enumerate(
            [
                "changed",
                "significant, below minimum effect",
                "significant, below minimum effect",
                "within noise",
                "no interval",
                "not compared",
            ]
        )
    ]
    text = render({"a": "a", "b": "b", "same_machine": True, "statuses": [], "gates": [], "rows": rows})
    assert (
        "4 of 6 figures tested, Holm–Bonferroni corrected (family-wise error rate 0.05): 1 changed, "
        "2 significant but below their minimum effect, 1 within noise."
    ) in text
    assert "| **changed** |" in text and "| significant, below minimum effect |" in text
    assert text.count("**") == 2


def test_render_joins_several_status_changes():
    """Two variants changed status: both listed on one line, joined with '; '."""
    result = {
        "a": "a",
        "b": "b",
        "same_machine": True,
        "rows": [],
        "gates": [],
        "statuses": [("x", "passed", "failed"), ("y", "failed", "passed")],
    }
    assert render(result).endswith("\nVariant status changes: `x` passed → failed; `y` failed → passed\n")


# ---------------------------------------------------------------------------------------------
# the family and the minimum effect, end to end through compare


def _shares(variant, a_successes, b_successes, n=10):
    return (
        _m(variant, "exact_match", a_successes / n, estimator="proportion", stats={"successes": a_successes, "n": n}),
        _m(variant, "exact_match", b_successes / n, estimator="proportion", stats={"successes": b_successes, "n": n}),
    )


def _pair(pairs):
    return _run("a", "m1", [p[0] for p in pairs]), _run("b", "m1", [p[1] for p in pairs])


def test_a_raw_p_of_one_percent_among_45_figures_is_not_a_change():
    """10/10 against 4/10: Fisher p = 2 x C(10,4) / C(20,14) = 2 x 210 / 38760 = 0.0108, "changed" on its
    own. With 44 more figures at p = 1, Holm multiplies the smallest by 45: 0.49, within noise."""
    p = _fisher(10, 10, 4, 10)
    assert p == pytest.approx(2 * 210 / 38760)
    alone = compare(*_pair([_shares("v0", 10, 4)]))["rows"][0]
    assert alone["verdict"] == "changed" and alone["holm_p"] == pytest.approx(p)
    result = compare(*_pair([_shares("v0", 10, 4)] + [_shares(f"v{i}", 5, 5) for i in range(1, 45)]))
    first = result["rows"][0]
    assert first["p"] == pytest.approx(p) and first["holm_p"] == pytest.approx(45 * p)
    assert first["verdict"] == "within noise"
    assert first["how"] == f"Fisher p={p:.2g}, Holm p={45 * p:.2g} of 45"
    assert {r["verdict"] for r in result["rows"]} == {"within noise"}
    assert all(r["holm_p"] == 1.0 for r in result["rows"][1:])
    assert "45 of 45 figures tested" in render(result) and "0 changed" in render(result)


def _speeds(variant, a_samples, a_value, b_samples, b_value):
    return (
        _m(variant, "decode_tps", a_value, "latency", estimator="median", samples=a_samples),
        _m(variant, "decode_tps", b_value, "latency", estimator="median", samples=b_samples),
    )


SLOW = [100.0 + i / 10 for i in range(8)]  # 100.0 .. 100.7
FAST = [100.8 + i / 10 for i in range(8)]  # 100.8 .. 101.5, every one above SLOW


def test_a_significant_but_tiny_change_is_below_the_minimum_effect():
    """8 against 8 samples, every one of B above A: exact Mann-Whitney p = 2 / C(16, 8) = 2 / 12870 =
    1.6e-4, significant; but the medians 100.35 and 101.15 are 0.797 % apart, under decode_tps's 5 %."""
    p = _mann_whitney(SLOW, FAST)
    assert p == pytest.approx(2 / 12870)
    result = compare(*_pair([_speeds("v", SLOW, 100.35, FAST, 101.15)]))
    row = result["rows"][0]
    assert row["verdict"] == "significant, below minimum effect"
    table = [line for line in render(result).splitlines() if line.startswith("| ")]
    assert all(line.count("|") == 8 for line in table)  # the detail adds no cell to the Markdown table
    assert row["how"] == f"Mann-Whitney p={p:.2g}, Holm p={p:.2g} of 1; effect 0.797 % < minimum 5 %"
    # a smaller minimum, on the command line, makes the same figure a change
    row = compare(
        *_pair([_speeds("v", SLOW, 100.35, FAST, 101.15)]), min_effects=parse_min_effects(["decode_tps=0.5%"])
    )["rows"][0]
    assert row["verdict"] == "changed" and row["how"].endswith("; effect 0.797 % ≥ minimum 0.5 %")


def test_a_large_significant_change_is_changed():
    """The same ranks (p = 2 / 12870) with B's samples 10 % higher: changed."""
    faster = [v * 1.1 for v in SLOW]
    p = _mann_whitney(SLOW, faster)
    assert p == pytest.approx(2 / 12870)
    row = compare(*_pair([_speeds("v", SLOW, 100.35, faster, 110.385)]))["rows"][0]
    assert row["verdict"] == "changed"
    assert row["how"] == f"Mann-Whitney p={p:.2g}, Holm p={p:.2g} of 1; effect 10 % ≥ minimum 5 %"
    assert row["change"] == pytest.approx(0.1)


def test_a_large_change_that_is_not_significant_is_within_noise():
    """Samples that interleave: p = 1 whatever the medians say."""
    a, b = [1.0, 4.0, 5.0, 8.0], [2.0, 3.0, 6.0, 7.0]
    assert _mann_whitney(a, b) == pytest.approx(1.0)
    row = compare(*_pair([_speeds("v", a, 1.0, b, 2.0)]))["rows"][0]
    assert row["verdict"] == "within noise" and row["change"] == pytest.approx(1.0)


def test_a_significant_share_change_below_two_points_is_below_the_minimum_effect():
    """50 000 / 100 000 against 51 000 / 100 000: z = 0.01 / sqrt(2 x 0.2499 / 1e5) = 4.47, p ~ 8e-6
    (Fisher's exact p is close to it); significant, but 1 point of exact_match is under 2."""
    a, b = _shares("v", 50000, 51000, n=100000)
    row = compare(*_pair([(a, b)]))["rows"][0]
    assert row["p"] < 1e-4
    assert row["verdict"] == "significant, below minimum effect" and row["how"].endswith("; effect 0.01 < minimum 0.02")
    a, b = _shares("v", 50000, 53000, n=100000)
    assert compare(*_pair([(a, b)]))["rows"][0]["verdict"] == "changed"


def test_a_least_squares_slope_of_three_points_is_tested_with_one_degree_of_freedom():
    """The smallest fit (3 points, 1 degree of freedom): t(0.975, 1) = tan(0.475 pi) = 12.706, so an
    interval of ± 12.706 x 0.1 is se 0.1, and slopes 1.0 and 1.5 give the same p as with 4 points."""
    t = math.tan(0.475 * math.pi)
    assert t == pytest.approx(12.706, abs=1e-3)

    def line(slope):
        return {
            "estimator": "fit",
            "value": slope,
            "interval": [slope - t * 0.1, slope + t * 0.1],
            "stats": {"n": 3, "r2": 0.9},
            "samples": [1.0, 2.0, 3.0],
        }

    method, p = raw_test(line(1.0), line(1.5))
    assert method == "Wald" and p == pytest.approx(_wald(1.0, 0.1, 1.5, 0.1))


def test_a_second_equals_sign_is_read_as_part_of_the_value():
    """METRIC=VALUE splits at the first '=': in 'decode_tps=5%=1' the value '5%=1' is what is wrong."""
    with pytest.raises(
        HarnessError,
        match=r"^option --min-effect 'decode_tps=5%=1': cannot read the minimum "
        r"effect '5%=1'",
    ):
        parse_min_effects(["decode_tps=5%=1"])


def test_a_figure_with_a_single_value_on_a_side_says_no_test_is_possible():
    a = _run("run-a", "m1", [_m("int4-cpu", "exact_match", 0.9, estimator="value")])
    b = _run("run-b", "m1", [_m("int4-cpu", "exact_match", 0.8, estimator="value")])
    [row] = compare(a, b)["rows"]
    assert (row["verdict"], row["how"], row["p"], row["holm_p"]) == (
        "no interval",
        "a single value each: no test possible",
        None,
        None,
    )


def test_runs_of_different_models_say_so_in_the_first_line():
    """compare does not refuse (a new fine-tune is a new model, and comparing releases is the point),
    but its first line says the runs are of different models, naming both."""
    a, b = _two_runs()
    a["model"] = {"name": "tickets", "content_hash": "a" * 64}
    b["model"] = {"name": "tickets", "content_hash": "b" * 64}
    first = render(compare(a, b)).splitlines()[0]
    assert first == (
        "# run-b compared with run-a: runs of different models, tickets (aaaaaaaaaaaa) in run-a and "
        "tickets (bbbbbbbbbbbb) in run-b"
    )
    b["model"] = dict(a["model"])
    assert render(compare(a, b)).splitlines()[0] == "# run-b compared with run-a"
