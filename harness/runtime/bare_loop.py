"""The yardstick for the harness's own overhead: the plainest onnxruntime-genai decode loop.

The overhead benchmark (``suites/test_overhead.py``) alternates requests between the harness's
session and this loop, on the same loaded ``og.Model`` inside the variant's worker process (the
worker's ``bare`` op), with the same token ids and the same forced number of new tokens. Same
process and same model, so the comparison isolates the one thing that differs: the code path of a
request. Two processes would not do: on a shared machine each process keeps a speed offset of a few
per cent for its lifetime, and pairs of requests cannot average that away.

It is kept deliberately bare (no checks, no per-token bookkeeping beyond two clock readings) and
independent of :mod:`harness.runtime.session`, whose code is what it measures.
"""

from __future__ import annotations

import time
from collections.abc import Sequence


def run(model, ids: Sequence[int], new_tokens: int, max_length: int) -> dict:
    """One greedy request of exactly ``new_tokens`` on ``model`` (an ``og.Model``): the time to
    the first token (prefill and first step), the time of the remaining ``new_tokens - 1`` steps,
    and the tokens (so a test can check that both sides of a pair did the same work)."""
    import onnxruntime_genai as og

    params = og.GeneratorParams(model)
    params.set_search_options(max_length=max_length, min_length=len(ids) + new_tokens, do_sample=False)
    generator = og.Generator(model, params)
    t0 = time.perf_counter()
    generator.append_tokens(list(ids))
    generator.generate_next_token()
    t1 = time.perf_counter()
    for _ in range(new_tokens - 1):
        generator.generate_next_token()
    t_end = time.perf_counter()
    tokens = [int(t) for t in generator.get_sequence(0)][len(ids) :]  # read after the clock stops
    del generator
    return {"ttft_s": t1 - t0, "decode_s": t_end - t1, "new_tokens": new_tokens, "tokens": tokens}
