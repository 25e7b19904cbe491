"""Closeness statistics against hand-computed cases, and the reference file round trip."""

import math

import numpy as np
import pytest

from harness.measure import closeness as c


def _logits(rows):
    return np.log(np.asarray(rows, dtype=np.float64)).astype(np.float32)


def test_kld_of_small_distributions_by_hand():
    reference = _logits([[0.5, 0.5], [0.9, 0.1], [0.25, 0.75]])
    variant = _logits([[0.25, 0.75], [0.9, 0.1], [0.5, 0.5]])
    codes, header = c.encode_logprobs(reference)
    per = c.per_token(variant, codes, header, np.array([1, 0, 1]))
    expected = [
        0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75),
        0.0,
        0.25 * math.log(0.25 / 0.5) + 0.75 * math.log(0.75 / 0.5),
    ]
    assert per["kld"] == pytest.approx(expected, abs=1e-6)
    assert per["delta_p"] == pytest.approx([0.75 - 0.5, 0.0, 0.5 - 0.75], abs=1e-6)
    assert per["nll"] == pytest.approx([-math.log(0.75), -math.log(0.9), -math.log(0.5)], abs=1e-6)
    assert per["same_top"].tolist() == [0.0, 1.0, 0.0]  # a tie goes to the first token, as llama.cpp


def test_sixteen_bit_encoding_keeps_sixteen_nats_and_clamps_the_rest():
    logits = np.array([[0.0, -3.0, -15.0, -40.0]], dtype=np.float32)
    codes, header = c.encode_logprobs(logits)
    decoded = c.decode_logprobs(codes, header)[0]
    # log-softmax by hand, not by the module under test: x - log(sum(exp(x)))
    row = [0.0, -3.0, -15.0, -40.0]
    exact = [x - math.log(sum(math.exp(v) for v in row)) for x in row]
    assert decoded[:3] == pytest.approx(exact[:3], abs=16 / 65535)
    assert decoded[3] == pytest.approx(exact[0] - 16, abs=1e-4)  # clamped at 16 below the top
    assert codes[0, 3] == 0


def test_statistics_match_llama_perplexity_formulas():
    kld = np.arange(1, 12, dtype=float)  # 11 tokens: 1..11
    per = {
        "kld": kld,
        "delta_p": np.full(11, 0.1),
        "nll": np.full(11, 2.0),
        "nll_reference": np.full(11, 1.5),
        "same_top": [1] * 9 + [0] * 2,
    }
    stats = c.summarize(per)
    # mean 6, uncertainty sqrt((E[x²] - E[x]²) / (n - 1)) = sqrt((46 - 36) / 10) = 1
    assert stats["kld_mean"]["value"] == 6 and stats["kld_mean"]["uncertainty"] == pytest.approx(1.0)
    assert stats["kld_mean"]["median"] == 6 and stats["kld_mean"]["max"] == 11 and stats["kld_mean"]["min"] == 1
    assert stats["kld_mean"]["p90"] == pytest.approx(1 + 0.9 * 10)  # interpolated at 0.9·(n-1)
    assert stats["kld_mean"]["p99.9"] == pytest.approx(1 + 0.999 * 10)
    p = 9 / 11
    assert stats["top1_agreement"]["value"] == pytest.approx(p)
    assert stats["top1_agreement"]["uncertainty"] == pytest.approx(math.sqrt(p * (1 - p) / 10))
    assert stats["delta_p_rms"]["value"] == pytest.approx(0.1)
    assert stats["ppl"]["value"] == pytest.approx(math.exp(2.0))
    assert stats["ppl_ratio"]["value"] == pytest.approx(math.exp(0.5))
    assert stats["ln_ppl_ratio"]["value"] == pytest.approx(0.5)
    few = c.summarize(
        {
            **per,
            "kld": kld[:10],
            "delta_p": per["delta_p"][:10],
            "nll": per["nll"][:10],
            "nll_reference": per["nll_reference"][:10],
            "same_top": per["same_top"][:10],
        }
    )
    assert few["kld_mean"]["uncertainty"] == 0.0  # llama.cpp gives no uncertainty for n <= 10


def test_median_of_an_even_count_is_the_mean_of_the_middle_two():
    assert c.median(np.array([1.0, 2.0, 4.0, 8.0])) == 3.0


def test_reference_file_round_trip_scores_the_second_half_of_each_chunk(tmp_path):
    rng = np.random.default_rng(0)
    table = rng.normal(size=(50, 50)).astype(np.float32)  # ids 0..49, vocabulary 50

    def reference(ids):
        return table[np.asarray(ids)]

    def variant(ids):
        return table[np.asarray(ids)] + 0.01 * rng.normal(size=(len(ids), 50)).astype(np.float32)

    chunks = c.chunks_of(list(range(50)) * 2, 16, max_chunks=3)
    assert len(chunks) == 3 and all(len(chunk) == 16 for chunk in chunks)
    path = tmp_path / "ref.npz"
    assert c.write_reference(reference, chunks, path) == {"tokens": 3 * 7}  # positions 8..14 of 16
    same = c.compare(reference, chunks, path)
    # only the 16-bit rounding of the reference remains (as in llama.cpp): |KLD| ~ 1e-5
    assert max(abs(k) for k in same["kld"]) < 1e-4 and set(same["same_top"]) == {1.0}
    assert same["nll"] == pytest.approx(same["nll_reference"], abs=1e-5)
    near = c.compare(variant, chunks, path)
    assert 0 < np.mean(near["kld"]) < 1e-3
