"""harness.measure.closeness: the full summary against an independent plain-Python implementation
of llama-perplexity's formulas, and the edges of the 16-bit reference format."""

import math
import statistics

import numpy as np
import pytest

from harness.measure import closeness as c

KLD = [0.5, 0.1, 0.3, 0.2, 0.9, 0.05, 0.4, 0.7, 0.15, 0.6, 0.25, 0.35]
DELTA_P = [0.1, -0.2, 0.05, 0.3, -0.1, 0.0, 0.15, -0.05, 0.2, -0.3, 0.25, 0.1]
NLL = [2.0, 1.5, 3.0, 2.5, 1.0, 2.2, 1.8, 2.9, 3.3, 1.2, 2.6, 2.1]
NLL_REF = [1.8, 1.6, 2.7, 2.4, 1.1, 2.0, 1.7, 2.5, 3.0, 1.3, 2.4, 2.0]
SAME_TOP = [1.0] * 9 + [0.0] * 3
ORDER = ["max", "p99.9", "p99", "p95", "p90", "median", "p10", "p5", "p1", "p0.1", "min"]


def _mean_unc(xs):
    """Mean and sqrt((E[x²] - E[x]²) / (n - 1)), the latter 0 for n <= 10."""
    n = len(xs)
    mean = sum(xs) / n
    var = sum(x * x for x in xs) / n - mean * mean
    return mean, (math.sqrt(var / (n - 1)) if n > 10 and var > 0 else 0.0)


def _at(xs, fraction):
    """Linear interpolation at fraction * (n - 1) of the sorted values."""
    s = sorted(xs)
    pos = fraction * (len(s) - 1)
    low = math.floor(pos)
    high = min(low + 1, len(s) - 1)
    return s[low] + (pos - low) * (s[high] - s[low])


def _points(xs, names):
    fractions = {
        "max": 1.0,
        "p99.9": 0.999,
        "p99": 0.99,
        "p95": 0.95,
        "p90": 0.90,
        "p75": 0.75,
        "p25": 0.25,
        "median": 0.5,
        "p10": 0.10,
        "p5": 0.05,
        "p1": 0.01,
        "p0.1": 0.001,
        "min": 0.0,
    }
    return {name: _at(xs, fractions[name]) for name in names}


def _expected(kld, dp, nll, ref, same):
    n = len(kld)
    m, u = _mean_unc(kld)
    p = sum(same) / n
    dm, du = _mean_unc(dp)
    mse, mse_u = _mean_unc([x * x for x in dp])
    a, da = _mean_unc(nll)
    b, db = _mean_unc(ref)
    cov = (sum(x * y for x, y in zip(nll, ref)) / n - a * b) / (n - 1) if n >= 10 else 0.0
    ratio_u = math.sqrt(max(da * da + db * db - 2 * cov, 0.0))
    return {
        "kld_mean": {"value": m, "uncertainty": u, "n": n, **_points(kld, ORDER)},
        "top1_agreement": {"value": p, "n": n, "uncertainty": math.sqrt(p * (1 - p) / (n - 1)) if n > 1 else math.nan},
        "delta_p_mean": {"value": dm, "uncertainty": du, "n": n, **_points(dp, ORDER[:5] + ["p75", "p25"] + ORDER[5:])},
        "delta_p_rms": {"value": math.sqrt(mse), "uncertainty": mse_u / (2 * math.sqrt(mse)) if mse else 0.0, "n": n},
        "ppl": {"value": math.exp(a), "uncertainty": math.exp(a) * da, "n": n},
        "ppl_reference": {"value": math.exp(b), "uncertainty": math.exp(b) * db, "n": n},
        "ln_ppl_ratio": {"value": a - b, "uncertainty": ratio_u, "n": n},
        "ppl_ratio": {"value": math.exp(a - b), "uncertainty": math.exp(a - b) * ratio_u, "n": n},
        "ppl_correlation": {"value": cov / (da * db) if da > 0 and db > 0 else math.nan, "n": n},
    }


def _per(kld=KLD, dp=DELTA_P, nll=NLL, ref=NLL_REF, same=SAME_TOP):
    return {"kld": kld, "delta_p": dp, "nll": nll, "nll_reference": ref, "same_top": same}


def _assert_summary(stats, expected):
    assert list(stats) == list(expected)
    for name, figures in expected.items():
        assert list(stats[name]) == list(figures), name  # the keys, in the order they are recorded
        assert stats[name] == pytest.approx(figures, rel=1e-9, abs=1e-12, nan_ok=True), name


def test_summary_of_twelve_tokens_matches_an_independent_implementation():
    """Every statistic, uncertainty and percentile of 12 uneven tokens, in the recorded order."""
    stats = c.summarize(_per())
    _assert_summary(stats, _expected(KLD, DELTA_P, NLL, NLL_REF, SAME_TOP))
    # the correlation is Pearson's, as the standard library computes it
    assert stats["ppl_correlation"]["value"] == pytest.approx(statistics.correlation(NLL, NLL_REF))
    assert stats["ln_ppl_ratio"]["uncertainty"] > 0 and stats["delta_p_rms"]["uncertainty"] > 0


def test_summary_of_few_tokens_has_no_uncertainties_and_no_covariance():
    """5 tokens (n < 10): every mean's uncertainty is 0, the ratio's too, the correlation NaN."""
    per = _per(KLD[:5], DELTA_P[:5], NLL[:5], NLL_REF[:5], SAME_TOP[:5])
    stats = c.summarize(per)
    _assert_summary(stats, _expected(*per.values()))
    assert stats["ln_ppl_ratio"]["uncertainty"] == 0.0 and math.isnan(stats["ppl_correlation"]["value"])


def test_at_ten_tokens_the_covariance_already_counts():
    """n = 10: no mean has an uncertainty yet (n <= 10) but the covariance counts (n >= 10, as in
    llama-perplexity), so opposite NLLs give the ratio an uncertainty of sqrt(-2 cov)."""
    nll, ref = [float(i) for i in range(1, 11)], [float(i) for i in range(10, 0, -1)]
    per = _per(KLD[:10], DELTA_P[:10], nll, ref, SAME_TOP[:10])
    stats = c.summarize(per)
    _assert_summary(stats, _expected(*per.values()))
    cov = (22.0 - 5.5 * 5.5) / 9  # E[x y] = sum of i (11 - i) / 10 = 22
    assert stats["ppl"]["uncertainty"] == 0.0
    assert stats["ln_ppl_ratio"]["uncertainty"] == pytest.approx(math.sqrt(-2 * cov))


def test_summary_of_one_and_two_tokens():
    """One token: the top-1 uncertainty is NaN (n - 1 = 0); two tokens: sqrt(p (1 - p) / 1)."""
    one = c.summarize(_per(KLD[:1], DELTA_P[:1], NLL[:1], NLL_REF[:1], [1.0]))
    assert one["top1_agreement"]["value"] == 1.0 and math.isnan(one["top1_agreement"]["uncertainty"])
    assert one["kld_mean"]["max"] == one["kld_mean"]["min"] == one["kld_mean"]["median"] == 0.5
    two = c.summarize(_per(KLD[:2], DELTA_P[:2], NLL[:2], NLL_REF[:2], [1.0, 0.0]))
    assert two["top1_agreement"]["uncertainty"] == pytest.approx(0.5)


def test_rms_of_no_change_is_zero_with_zero_uncertainty():
    """Δp all 0: RMS 0 and its uncertainty 0, not NaN and not a division by zero."""
    stats = c.summarize(_per(dp=[0.0] * 12))
    assert stats["delta_p_rms"]["value"] == 0.0 and stats["delta_p_rms"]["uncertainty"] == 0.0


@pytest.mark.parametrize("nll, ref", [([2.0] * 12, NLL_REF), (NLL, [2.0] * 12)])
def test_correlation_is_nan_when_one_side_does_not_vary(nll, ref):
    """A constant NLL has no spread: the correlation is undefined (NaN), not a division by zero."""
    stats = c.summarize(_per(nll=nll, ref=ref))
    assert math.isnan(stats["ppl_correlation"]["value"])
    _assert_summary(stats, _expected(KLD, DELTA_P, nll, ref, SAME_TOP))


def test_an_infinite_value_is_the_max_not_nan():
    """The max of a distribution holding +inf is inf (the end point is taken, not interpolated)."""
    points = c.distribution(np.array([1.0, 2.0, np.inf]))
    assert points["max"] == math.inf and points["min"] == 1.0 and points["median"] == 2.0


def test_mean_of_one_value_has_zero_uncertainty():
    """n = 1: the value itself, uncertainty 0; n = 0: both NaN."""
    assert c.mean_and_uncertainty(np.array([2.5])) == (2.5, 0.0)
    assert all(math.isnan(x) for x in c.mean_and_uncertainty(np.array([])))


def test_chunks_stop_at_the_tokens_there_are():
    """10 tokens in chunks of 4, at most 5 chunks: two whole chunks, the remainder dropped."""
    assert c.chunks_of(list(range(10)), 4, max_chunks=5) == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_encoding_is_16_bit_codes_and_a_float32_header():
    """The stored format: uint16 codes, a float32 header of (scale, min_log_prob)."""
    codes, header = c.encode_logprobs(np.array([[0.0, -1.0, -2.0]], dtype=np.float64))
    assert codes.dtype == np.uint16 and header.dtype == np.float32
    assert codes.tolist() == [[65535, 32768, 0]]  # -1 is half way from the top (0) down to the lowest (-2)


def test_a_flat_row_encodes_to_zero_codes_without_dividing_by_zero():
    """Equal logits: scale 0, every code 0, each decoded log-probability log(1/3), no floating-point error."""
    with np.errstate(all="raise"):
        codes, header = c.encode_logprobs(np.zeros((1, 3), dtype=np.float32))
    assert codes.tolist() == [[0, 0, 0]] and header[0, 0] == 0.0
    assert c.decode_logprobs(codes, header)[0] == pytest.approx([math.log(1 / 3)] * 3, abs=1e-6)


def test_a_token_clamped_at_the_floor_does_not_count_in_the_kld():
    """Only tokens with log p > -16 count: a token 1000 nats down decodes to exactly -16 and is left out."""
    reference = np.array([[0.0, -1000.0]], dtype=np.float32)
    codes, header = c.encode_logprobs(reference)
    assert c.decode_logprobs(codes, header)[0, 1] == -16.0
    per = c.per_token(reference, codes, header, np.array([0]))
    assert abs(per["kld"][0]) < 1e-5  # counting it would add e^-16 * (1000 - 16) = 1.1e-4


def test_log_softmax_of_one_row():
    """A 1-D row works too: [0, ln 3] gives ln(1/4), ln(3/4)."""
    assert c.log_softmax(np.array([0.0, math.log(3)])) == pytest.approx([math.log(0.25), math.log(0.75)])


def test_log_softmax_normalises_each_row_on_its_own():
    """Rows 1000 nats apart: each is shifted by its own max, so neither underflows."""
    rows = c.log_softmax(np.array([[0.0, 1.0], [-1000.0, -999.0]]))
    expected = [-math.log(1 + math.e), 1 - math.log(1 + math.e)]
    assert rows[0] == pytest.approx(expected) and rows[1] == pytest.approx(expected)


def test_log_softmax_computes_float32_logits_in_float64():
    """float32 logits are widened first: the result agrees with float64 arithmetic to 1e-12."""
    logits = np.array([[0.1, 0.2, 0.3]], dtype=np.float32)
    xs = [float(x) for x in logits[0]]
    exact = [x - math.log(sum(math.exp(v) for v in xs)) for x in xs]
    assert np.abs(c.log_softmax(logits)[0] - exact).max() < 1e-12


def _reference_file(tmp_path):
    table = np.log(np.arange(1, 17, dtype=np.float64).reshape(4, 4) % 5 + 1)  # 4 ids, vocabulary 4

    def model(ids):
        return table[np.asarray(ids)].astype(np.float32)

    chunks = [[0, 1, 2, 3, 0, 1, 2, 3], [3, 2, 1, 0, 3, 2, 1, 0]]
    path = tmp_path / "ref.npz"
    assert c.write_reference(model, chunks, path) == {"tokens": 6}  # positions 4, 5, 6 of 8, twice
    return model, chunks, path, table


def test_reference_file_holds_next_tokens_and_their_exact_log_probs(tmp_path):
    """The stored targets are the tokens after positions 4..6; their log-probs float32, by hand; the version."""
    _, chunks, path, table = _reference_file(tmp_path)
    stored = np.load(path)
    assert stored["targets"].tolist() == [1, 2, 3, 2, 1, 0]
    assert int(stored["version"]) == c.FORMAT_VERSION and stored["target_logp"].dtype == np.float32
    expected = []
    for chunk in chunks:
        for j in (4, 5, 6):
            row = [float(np.float32(x)) for x in table[chunk[j]]]
            expected.append(row[chunk[j + 1]] - math.log(sum(math.exp(x) for x in row)))
    assert stored["target_logp"] == pytest.approx(expected, abs=1e-6)


def test_comparing_other_chunks_than_the_reference_is_refused(tmp_path):
    """A variant scored on fewer tokens than the reference holds: an error naming both counts."""
    model, chunks, path, _ = _reference_file(tmp_path)
    with pytest.raises(ValueError, match=r"^reference holds 6 tokens, the chunks 3$"):
        c.compare(model, chunks[:1], path)
