"""Does the harness disturb what it measures? Its session against a bare onnxruntime-genai loop.

The same variant, the same token ids and the same forced number of new tokens go alternately to
the variant's worker and to :mod:`harness.runtime.bare_loop` (its own process, so neither shares a
Python interpreter with pytest). Pairs alternate their order (harness first, then bare first) so
that a slow drift of the machine does not favour one side. Per pair: harness ÷ bare for decode
tokens/s and for TTFT; the verdict uses the median over pairs.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable, Sequence

from harness.common.toolchains import MAIN, Interpreter
from harness.errors import HarnessError
from harness.measure.records import Verdict, verdict

# Targets: decode throughput at least 98 % of the bare loop's; TTFT within 3 % of it.
DECODE_MIN_RATIO = 0.98
TTFT_MAX_DEVIATION = 0.03
# Pause before each request: onnxruntime's thread pools spin for a while after finishing work,
# and the other process's spinning threads would otherwise share the cores with the request.
SETTLE_S = 0.05


class BareLoop:
    """Client of a ``python -m harness.runtime.bare_loop`` process."""

    def __init__(self, model_dir: Path, max_length: int, interpreter: Interpreter = MAIN) -> None:
        """``interpreter``: the same toolchain as the variant's worker (``--runtimes``)."""
        self._stderr = tempfile.TemporaryFile(mode="w+")  # a pipe could fill up and block it
        self._proc = subprocess.Popen(
            [*interpreter.command, "-m", "harness.runtime.bare_loop", str(model_dir), str(max_length)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, text=True, env=interpreter.env)
        if not json.loads(self._readline()).get("ready"):
            raise HarnessError("the bare onnxruntime-genai loop did not start")

    def _readline(self) -> str:
        line = self._proc.stdout.readline()
        if not line:
            self._proc.wait()
            self._stderr.seek(0)
            raise HarnessError(f"the bare onnxruntime-genai loop died: {self._stderr.read()[-500:]}")
        return line

    def run(self, ids: Sequence[int], new_tokens: int) -> dict:
        """One request; returns ttft_s, decode_s and new_tokens as the bare loop timed them."""
        self._proc.stdin.write(json.dumps({"ids": list(ids), "new_tokens": new_tokens}) + "\n")
        self._proc.stdin.flush()
        return json.loads(self._readline())

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc.stdout.close()
        self._stderr.close()


def alternate(harness: Callable[[], tuple[float, float]], bare: Callable[[], tuple[float, float]],
              pairs: int) -> list[dict]:
    """Run ``pairs`` alternating pairs; each callable returns (ttft seconds, decode tokens/s)."""
    results = []
    for index in range(pairs):
        order = (("harness", harness), ("bare", bare)) if index % 2 == 0 else (("bare", bare), ("harness", harness))
        pair = {"first": order[0][0]}
        for side, run in order:
            time.sleep(SETTLE_S)
            pair[f"{side}_ttft_s"], pair[f"{side}_decode_tps"] = run()
        pair["decode_ratio"] = pair["harness_decode_tps"] / pair["bare_decode_tps"]
        pair["ttft_ratio"] = pair["harness_ttft_s"] / pair["bare_ttft_s"]
        results.append(pair)
    return results


def verdicts(variant: str, pairs: Sequence[dict]) -> list[Verdict]:
    """The two overhead verdicts, from the median ratio over pairs."""
    decode = statistics.median(p["decode_ratio"] for p in pairs)
    ttft = statistics.median(p["ttft_ratio"] for p in pairs)
    return [
        verdict(variant, "overhead", "overhead_decode_ratio", decode >= DECODE_MIN_RATIO,
                value=decode,
                threshold=DECODE_MIN_RATIO,
                message=f"harness decode tokens/s = {decode:.3f} × the bare loop's (median of {len(pairs)} "
                        f"pairs; target ≥ {DECODE_MIN_RATIO})"),
        verdict(variant, "overhead", "overhead_ttft_ratio", abs(ttft - 1) <= TTFT_MAX_DEVIATION,
                value=ttft,
                threshold=TTFT_MAX_DEVIATION,
                message=f"harness TTFT = {ttft:.3f} × the bare loop's (median of {len(pairs)} pairs; "
                        f"target within ±{TTFT_MAX_DEVIATION:.0%})")
    ]
