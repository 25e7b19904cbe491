"""The yardstick for the harness's own overhead: the plainest onnxruntime-genai decode loop.

The overhead benchmark (``suites/test_overhead.py``) alternates requests between a variant's
worker and this process, on the same model and token ids, and compares TTFT and decode tokens/s.
It is kept deliberately bare (no checks, no per-token bookkeeping beyond two clock readings), and
is the one module besides :mod:`harness.runtime.session` that imports onnxruntime-genai, because being
independent of the session code is its whole point.

    python -m harness.runtime.bare_loop MODEL_DIR MAX_LENGTH   (then one JSON request per stdin line:
    {"ids": [...], "new_tokens": N}  ->  {"ttft_s": ..., "decode_s": ..., "new_tokens": N})
"""

import json
import sys
import time

import onnxruntime_genai as og


def main() -> int:
    model = og.Model(sys.argv[1])
    max_length = int(sys.argv[2])
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        ids, n = request["ids"], request["new_tokens"]
        params = og.GeneratorParams(model)
        params.set_search_options(max_length=max_length, min_length=len(ids) + n, do_sample=False)
        generator = og.Generator(model, params)
        t0 = time.perf_counter()
        generator.append_tokens(ids)
        generator.generate_next_token()
        t1 = time.perf_counter()
        for _ in range(n - 1):
            generator.generate_next_token()
        t_end = time.perf_counter()
        del generator
        print(json.dumps({"ttft_s": t1 - t0, "decode_s": t_end - t1, "new_tokens": n}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
