"""Closeness to the reference variant from full logits, computed as llama.cpp's
``llama-perplexity --kl-divergence`` computes it.

- The token stream is cut into chunks of ``n_ctx`` tokens; in each chunk the logits at positions
  ``n_ctx // 2`` to ``n_ctx - 2`` are scored, each predicting the next token (the first half only
  gives the model context).
- The reference's log-probabilities are stored per scored token in 16 bits, as llama.cpp stores
  them: ``log p_i = scale * q_i + min_log_prob`` with ``q_i`` in 0..65535 over the range from the
  largest logit down to at most 16 below it (lower ones are clamped).
- Per token: KLD = sum of p_i (log p_i - log q_i) over the reference tokens with log p_i > -16;
  top-1 agreement; Δp = q(next) - p(next); the negative log-likelihoods of the next token. One
  difference from llama.cpp: the reference's log-probability of the next token is also stored
  exactly (float32), so its perplexity is not capped by the 16-bit range (a fine-tuned model can
  put prompt tokens far below it, and the capped value would inflate the perplexity ratio).
- Statistics: means with the uncertainty sqrt((E[x²] - E[x]²) / (n - 1)) (0 for n <= 10),
  percentiles interpolated at fraction * (n - 1), the median as the middle value (or the mean of
  the two middle ones), RMS Δp with uncertainty d(MSE) / (2 RMS), perplexities exp(mean NLL) with
  the covariance-aware uncertainty of their ratio.

The reference file is written by the reference variant's worker and read by every other
variant's worker; only per-token figures travel back to the test process.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

LOG_RANGE = 16.0  # nats below the largest logit kept by the 16-bit encoding
KLD_PERCENTILES = (
    ("max", 1.0),
    ("p99.9", 0.999),
    ("p99", 0.99),
    ("p95", 0.95),
    ("p90", 0.90),
    ("median", None),
    ("p10", 0.10),
    ("p5", 0.05),
    ("p1", 0.01),
    ("p0.1", 0.001),
    ("min", 0.0),
)
FORMAT_VERSION = 2
# what :func:`summarize` returns, each recorded as a measurement: name -> (unit, higher is better)
STATISTICS = {
    "kld_mean": ("nats/token", False),
    "top1_agreement": ("fraction", True),
    "delta_p_mean": ("probability", None),
    "delta_p_rms": ("probability", False),
    "ppl": ("perplexity", False),
    "ppl_reference": ("perplexity", False),
    "ln_ppl_ratio": ("nats/token", False),
    "ppl_ratio": ("ratio", False),
    "ppl_correlation": ("correlation", True),
}

LogitsOf = Callable[[Sequence[int]], np.ndarray]  # token ids -> logits [len(ids), vocab]


def chunks_of(tokens: Sequence[int], n_ctx: int, max_chunks: int) -> list[list[int]]:
    """Consecutive, non-overlapping chunks of ``n_ctx`` tokens (the remainder is dropped)."""
    count = min(max_chunks, len(tokens) // n_ctx)
    return [list(tokens[i * n_ctx : (i + 1) * n_ctx]) for i in range(count)]


def scored_positions(n_ctx: int) -> range:
    return range(n_ctx // 2, n_ctx - 1)


# ---------------------------------------------------------------------------------------------
# 16-bit log-probabilities (the reference)


def encode_logprobs(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of logits -> (codes uint16 [n, vocab], header float32 [n, 2] = scale, min_log_prob)."""
    logits = np.asarray(logits, dtype=np.float32)
    top = logits.max(axis=1, keepdims=True)
    log_sum = np.log(np.exp((logits - top).astype(np.float64)).sum(axis=1, keepdims=True)).astype(np.float32)
    low = np.maximum(logits.min(axis=1, keepdims=True), top - LOG_RANGE)
    scale = (top - low) / 65535.0
    safe = np.where(scale > 0, scale, 1.0)
    codes = np.where(logits > low, np.rint((logits - low) / safe), 0.0)
    codes = np.where(scale > 0, codes, 0.0).astype(np.uint16)
    header = np.concatenate([scale, low - top - log_sum], axis=1).astype(np.float32)
    return codes, header


def decode_logprobs(codes: np.ndarray, header: np.ndarray) -> np.ndarray:
    return header[:, :1] * codes.astype(np.float32) + header[:, 1:2]


def log_softmax(logits: np.ndarray) -> np.ndarray:
    logits = np.asarray(logits, dtype=np.float64)
    top = logits.max(axis=-1, keepdims=True)
    return logits - top - np.log(np.exp(logits - top).sum(axis=-1, keepdims=True))


def write_reference(logits_of: LogitsOf, chunks: Sequence[Sequence[int]], path: Path) -> dict:
    """Run the reference over ``chunks`` and store its 16-bit log-probs for the scored tokens."""
    codes, headers, targets, target_logp = [], [], [], []
    for chunk in chunks:
        logits = logits_of(chunk)
        positions = list(scored_positions(len(chunk)))
        c, h = encode_logprobs(logits[positions])
        codes.append(c)
        headers.append(h)
        chunk_targets = [chunk[j + 1] for j in positions]
        targets.extend(chunk_targets)
        target_logp.append(log_softmax(logits[positions])[np.arange(len(positions)), chunk_targets])
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp.npz")
    np.savez(
        tmp,
        codes=np.concatenate(codes),
        header=np.concatenate(headers),
        targets=np.asarray(targets, dtype=np.int64),
        target_logp=np.concatenate(target_logp).astype(np.float32),
        version=np.asarray(FORMAT_VERSION),
    )
    os.replace(tmp, path)
    return {"tokens": len(targets)}


def compare(logits_of: LogitsOf, chunks: Sequence[Sequence[int]], path: Path) -> dict[str, list]:
    """Per scored token: KLD, Δp, NLL of both, top-1 agreement, for this variant against the
    stored reference."""
    stored = np.load(path)
    codes, header, targets, target_logp = (stored["codes"], stored["header"], stored["targets"], stored["target_logp"])
    out: dict[str, list] = {"kld": [], "delta_p": [], "nll": [], "nll_reference": [], "same_top": []}
    row = 0
    for chunk in chunks:
        logits = logits_of(chunk)
        positions = list(scored_positions(len(chunk)))
        n = len(positions)
        per = per_token(
            logits[positions],
            codes[row : row + n],
            header[row : row + n],
            targets[row : row + n],
            target_logp[row : row + n],
        )
        for key in out:
            out[key].extend(per[key].tolist())
        row += n
    if row != len(targets):
        raise ValueError(f"reference holds {len(targets)} tokens, the chunks {row}")
    return out


def per_token(
    logits: np.ndarray,
    codes: np.ndarray,
    header: np.ndarray,
    targets: np.ndarray,
    target_logp: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Per-token figures of a variant's ``logits`` against the stored reference; the reference's
    next-token log-probs are ``target_logp`` when given, else read from the 16-bit codes."""
    log_q = log_softmax(logits)
    log_p = decode_logprobs(codes, header).astype(np.float64)
    kept = log_p > -LOG_RANGE
    kld = np.where(kept, np.exp(log_p) * (log_p - log_q), 0.0).sum(axis=1)
    rows = np.arange(len(targets))
    nll = -log_q[rows, targets]
    nll_reference = -(log_p[rows, targets] if target_logp is None else np.asarray(target_logp, dtype=np.float64))
    same_top = (np.argmax(logits, axis=1) == np.argmax(log_p, axis=1)).astype(np.float64)
    return {
        "kld": kld,
        "delta_p": np.exp(-nll) - np.exp(-nll_reference),
        "nll": nll,
        "nll_reference": nll_reference,
        "same_top": same_top,
    }


# ---------------------------------------------------------------------------------------------
# Statistics


def mean_and_uncertainty(values: np.ndarray) -> tuple[float, float]:
    n = len(values)
    if n == 0:
        return math.nan, math.nan
    mean = float(np.mean(values))
    variance = float(np.mean(np.square(values))) - mean * mean
    if n <= 10 or variance <= 0:
        return mean, 0.0
    return mean, math.sqrt(variance / (n - 1))


def percentile(sorted_values: np.ndarray, fraction: float) -> float:
    """Linear interpolation at ``fraction * (n - 1)``, as llama.cpp does."""
    n = len(sorted_values)
    if fraction <= 0:
        return float(sorted_values[0])
    if fraction >= 1:
        return float(sorted_values[-1])
    position = fraction * (n - 1)
    low = math.floor(position)
    weight = position - low
    return float((1 - weight) * sorted_values[low] + weight * sorted_values[min(low + 1, n - 1)])


def median(sorted_values: np.ndarray) -> float:
    n = len(sorted_values)
    return float(sorted_values[n // 2]) if n % 2 else float((sorted_values[n // 2] + sorted_values[n // 2 - 1]) / 2)


def distribution(values: np.ndarray, extra: tuple[tuple[str, float], ...] = ()) -> dict[str, float]:
    data = np.sort(np.asarray(values, dtype=np.float64))
    points = KLD_PERCENTILES if not extra else KLD_PERCENTILES[:5] + extra + KLD_PERCENTILES[5:]
    return {name: (median(data) if fraction is None else percentile(data, fraction)) for name, fraction in points}


def summarize(per: dict[str, Sequence[float]]) -> dict[str, dict]:
    """The statistics llama-perplexity prints, each as ``{value, uncertainty, ...}``."""
    kld = np.asarray(per["kld"], dtype=np.float64)
    dp = np.asarray(per["delta_p"], dtype=np.float64)
    nll = np.asarray(per["nll"], dtype=np.float64)
    nll_ref = np.asarray(per["nll_reference"], dtype=np.float64)
    n = len(kld)
    out: dict[str, dict] = {}
    mean, unc = mean_and_uncertainty(kld)
    out["kld_mean"] = {"value": mean, "uncertainty": unc, "n": n, **distribution(kld)}
    same = float(np.mean(per["same_top"])) if n else math.nan
    out["top1_agreement"] = {
        "value": same,
        "n": n,
        "uncertainty": math.sqrt(same * (1 - same) / (n - 1)) if n > 1 else math.nan,
    }
    mean, unc = mean_and_uncertainty(dp)
    out["delta_p_mean"] = {
        "value": mean,
        "uncertainty": unc,
        "n": n,
        **distribution(dp, (("p75", 0.75), ("p25", 0.25))),
    }
    mse, mse_unc = mean_and_uncertainty(np.square(dp))
    rms = math.sqrt(mse) if mse >= 0 else math.nan
    out["delta_p_rms"] = {"value": rms, "uncertainty": mse_unc / (2 * rms) if rms > 0 else 0.0, "n": n}
    a, da = mean_and_uncertainty(nll)
    b, db = mean_and_uncertainty(nll_ref)
    cov = 0.0
    if n >= 10:
        cov = (float(np.mean(nll * nll_ref)) - a * b) / (n - 1)
    out["ppl"] = {"value": math.exp(a), "uncertainty": math.exp(a) * da, "n": n}
    out["ppl_reference"] = {"value": math.exp(b), "uncertainty": math.exp(b) * db, "n": n}
    log_ratio_unc = math.sqrt(max(da * da + db * db - 2 * cov, 0.0))
    out["ln_ppl_ratio"] = {"value": a - b, "uncertainty": log_ratio_unc, "n": n}
    out["ppl_ratio"] = {"value": math.exp(a - b), "uncertainty": math.exp(a - b) * log_ratio_unc, "n": n}
    out["ppl_correlation"] = {"value": cov / (da * db) if da > 0 and db > 0 else math.nan, "n": n}
    return out
